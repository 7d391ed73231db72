"""Row 1: User-Agent parsing, cold and cached, against ua-parser-rs and other parsers.

*Cold* is the first parse of each of 2,000 distinct strings with every cache emptied
before the repetition. The regular expressions each library compiles lazily were
compiled in a warm-up round, so cold excludes that one-time start-up cost. *Cached* cycles
20,000 times over 100 strings, which fit in every cache.
"""

from __future__ import annotations

import importlib.metadata
import itertools
from collections.abc import Callable, Sequence

import ua_parser
from ua_parser import CachingResolver, Parser
from ua_parser.caching import S3Fifo

from bench import corpus
from bench.context import RunContext
from bench.measure import Case, interleave
from bench.results import Check, Figure, Goal, RowResult
from lastseen.enrich import useragent

# ua-parser's default cache size, used for the floor as the default parser uses it.
UA_PARSER_CACHE_SIZE = 2000
HOT_SET = 100


def run(ctx: RunContext) -> RowResult:
    row = RowResult("1", "User-Agent parsing (cold and cached)")
    # Quick runs parse all 2,000 strings too, because fewer strings can fit in caches that
    # 2,000 overflow (such as the `re` module's 512 compiled patterns) and so hide costs.
    strings = corpus.user_agents(2000)
    hot = list(itertools.islice(itertools.cycle(strings[:HOT_SET]), ctx.scaled(20_000, 5_000)))
    _measure(ctx, row, strings, hot, _rust_resolver())
    return row


def _measure(
    ctx: RunContext,
    row: RowResult,
    strings: Sequence[str],
    hot: list[str],
    rust: ua_parser.Resolver,
) -> None:
    cold_cases = {
        "lastseen parse_user_agent, cold": _lastseen_cold(strings),
        "ua-parser + ua-parser-rs, cold": _floor_cold(strings, rust),
        "user-agents 2.2, cold": _user_agents_cold(strings),
        "woothee, cold (no cache)": _loop_case(strings, _woothee()),
    }
    cold = interleave(cold_cases, ctx.repetitions)

    cached_cases = {
        "lastseen parse_user_agent, cached": _lastseen_cached(hot),
        "ua-parser + ua-parser-rs, cached": _floor_cached(hot, rust),
        "user-agents 2.2, cached": _loop_case(hot, _user_agents_parse()),
        "woothee, repeated (no cache)": _loop_case(hot, _woothee()),
    }
    cached = interleave(cached_cases, ctx.repetitions)

    # Device Detector took about 11 ms a string on a 2-CPU AMD EPYC virtual machine, so it
    # parses a subset.
    detector_count = ctx.scaled(100, 20)
    detector = interleave(
        {"device-detector, cold": _device_detector_case(strings[:detector_count])},
        ctx.repetitions,
    )

    for samples in (cold, cached, detector):
        for label, sample in samples.items():
            row.figures.append(Figure(label, sample))
    row.figure("device-detector, cold").note = f"{detector_count} strings per repetition"

    lastseen_cold = row.figure("lastseen parse_user_agent, cold")
    row.checks += [
        Check(
            "cold vs raw ua-parser-rs",
            lastseen_cold,
            Goal.MAX_COST_RATIO,
            1.2,
            floor=row.figure("ua-parser + ua-parser-rs, cold"),
        ),
        Check(
            "cached, absolute",
            row.figure("lastseen parse_user_agent, cached"),
            Goal.MAX_VALUE,
            2.0,
        ),
        Check(
            "cold vs user-agents 2.2 cold",
            lastseen_cold,
            Goal.MIN_SPEEDUP,
            10.0,
            floor=row.figure("user-agents 2.2, cold"),
        ),
    ]
    row.notes += [
        f"Corpus: {len(strings):,} distinct strings from Device Detector's fixtures, a "
        f"seeded sample: {corpus.mix_description()}.",
        f"Cached: {len(hot):,} parses cycling over {HOT_SET} strings.",
        "Floor: ua-parser's default stack, CachingResolver(ua-parser-rs Resolver, "
        f"S3Fifo({UA_PARSER_CACHE_SIZE})), with a new cache every repetition when cold.",
        "lastseen cold: its lru_cache (`_parse_cached.cache_clear()`) is emptied before "
        "every repetition. lastseen calls the ua-parser-rs extractors of a resolver built "
        "from the same rules directly. So it skips ua-parser's cache, because its lru_cache "
        "keeps whole results, and the dataclasses that the resolver copies each match into.",
        "user-agents cold: its legacy parser's 200-entry dict is emptied before every "
        "repetition. It parses with pure-Python `re`, not ua-parser-rs.",
        "Versions: "
        + ", ".join(
            f"{name} {importlib.metadata.version(name)}"
            for name in (
                "ua-parser",
                "ua-parser-rs",
                "ua-parser-builtins",
                "user-agents",
                "device-detector",
                "woothee",
            )
        )
        + ".",
    ]


def _rust_resolver() -> ua_parser.Resolver:
    if ua_parser.RegexResolver is None:
        raise RuntimeError("ua-parser-rs is not installed: pip install 'ua-parser[regex]'")
    return ua_parser.RegexResolver(ua_parser.load_lazy_builtins())


def _fresh_parser(rust: ua_parser.Resolver) -> Parser:
    return Parser(CachingResolver(rust, S3Fifo(UA_PARSER_CACHE_SIZE)))


def _loop_case(strings: Sequence[str], parse: Callable[[str], object]) -> Case:
    def loop() -> int:
        for string in strings:
            parse(string)
        return len(strings)

    return Case(loop)


def _lastseen_cold(strings: Sequence[str]) -> Case:
    def setup() -> None:
        useragent._parse_cached.cache_clear()

    return Case(_loop_case(strings, useragent.parse_user_agent).run, setup)


def _lastseen_cached(hot: Sequence[str]) -> Case:
    def setup() -> None:
        for string in hot[:HOT_SET]:
            useragent.parse_user_agent(string)

    return Case(_loop_case(hot, useragent.parse_user_agent).run, setup)


def _floor_cold(strings: Sequence[str], rust: ua_parser.Resolver) -> Case:
    parser = _fresh_parser(rust)

    def setup() -> None:
        nonlocal parser
        parser = _fresh_parser(rust)

    def loop() -> int:
        parse = parser.parse
        for string in strings:
            parse(string)
        return len(strings)

    return Case(loop, setup)


def _floor_cached(hot: Sequence[str], rust: ua_parser.Resolver) -> Case:
    parser = _fresh_parser(rust)
    return Case(_loop_case(hot, parser.parse).run)


def _user_agents_parse() -> Callable[[str], object]:
    import user_agents

    parse: Callable[[str], object] = user_agents.parse
    return parse


def _user_agents_cold(strings: Sequence[str]) -> Case:
    from ua_parser import user_agent_parser

    return Case(
        _loop_case(strings, _user_agents_parse()).run,
        setup=user_agent_parser._PARSE_CACHE.clear,
    )


def _woothee() -> Callable[[str], object]:
    import woothee

    return woothee.parse


def _device_detector_case(strings: Sequence[str]) -> Case:
    from device_detector import DeviceDetector

    def parse(string: str) -> object:
        return DeviceDetector(string).parse()

    return _loop_case(strings, parse)
