"""lastseen's benchmark suite: ``python -m bench`` (``--quick`` for a smoke run).

Every target is a ratio against a floor measured in the same run, because the speed of a
shared virtual machine drifts by more than the margins the targets allow.
"""
