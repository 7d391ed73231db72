// Runs one @clerk/backend call against a lastseen server and prints the outcome as JSON.
//
// The command is a JSON object, given as the first argument or on standard input:
//   {"op": "getSessionList", "apiUrl": "http://127.0.0.1:8000", "secretKey": "sk_...",
//    "userId": "user_...", "status": "active"}
// Ops: getSessionList, getSession, revokeSession, getToken, verifyToken.
// verifyToken takes "token" and either "jwtKey" (a PEM public key) or "secretKey" and
// "apiUrl" (the key set is then fetched from {apiUrl}/v1/jwks).
//
// Output: {"ok": true, "result": ...} and exit status 0, or {"ok": false, "error": ...}
// and exit status 2 when the SDK reported a failure. Anything else is a crash (status 1).

import { readFileSync } from "node:fs";

import { createClerkClient, verifyToken } from "@clerk/backend";
import { ClerkAPIResponseError, TokenVerificationError } from "@clerk/backend/errors";

function readCommand() {
  const text = process.argv[2] ?? readFileSync(0, "utf8");
  return JSON.parse(text);
}

function client(command) {
  const options = {
    secretKey: command.secretKey,
    apiUrl: command.apiUrl,
    // The SDK would otherwise send usage events to Clerk's own servers.
    telemetry: { disabled: true },
  };
  if (command.apiVersion !== undefined) {
    options.apiVersion = command.apiVersion;
  }
  return createClerkClient(options);
}

const ops = {
  async getSessionList(command) {
    const params = { userId: command.userId, clientId: command.clientId, status: command.status };
    if (command.limit !== undefined) params.limit = command.limit;
    if (command.offset !== undefined) params.offset = command.offset;
    return client(command).sessions.getSessionList(params);
  },
  async getSession(command) {
    return client(command).sessions.getSession(command.sessionId);
  },
  async revokeSession(command) {
    return client(command).sessions.revokeSession(command.sessionId);
  },
  async getToken(command) {
    return client(command).sessions.getToken(
      command.sessionId,
      undefined,
      command.expiresInSeconds,
    );
  },
  async verifyToken(command) {
    const options = command.jwtKey
      ? { jwtKey: command.jwtKey }
      : { secretKey: command.secretKey, apiUrl: command.apiUrl };
    return verifyToken(command.token, options);
  },
};

// What the SDK's errors carry: API errors ("api") have a status and Clerk's error list,
// token verification errors ("token") a reason.
function describe(error) {
  const kind = error instanceof ClerkAPIResponseError ? "api" : "token";
  const described = { kind, message: error.message };
  for (const key of ["status", "clerkTraceId", "reason", "action"]) {
    if (error[key] !== undefined) described[key] = error[key];
  }
  if (Array.isArray(error.errors)) {
    described.errors = error.errors.map((item) => ({
      code: item.code,
      message: item.message,
      longMessage: item.longMessage,
      meta: item.meta,
    }));
  }
  return described;
}

const command = readCommand();
const op = ops[command.op];
if (op === undefined) {
  const known = Object.keys(ops).join(", ");
  throw new Error(`invalid op ${JSON.stringify(command.op)}: expected one of ${known}`);
}

try {
  const result = await op(command);
  process.stdout.write(JSON.stringify({ ok: true, result }) + "\n");
} catch (error) {
  if (error instanceof ClerkAPIResponseError || error instanceof TokenVerificationError) {
    process.stdout.write(JSON.stringify({ ok: false, error: describe(error) }) + "\n");
    process.exitCode = 2;
  } else {
    throw error;
  }
}
