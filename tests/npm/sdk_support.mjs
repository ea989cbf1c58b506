// Shared by the scripts of tests/npm: the official SDK (@leonardo-ai/sdk) pointed at a Sfumato
// server, with every exchange recorded so that a failure can show the exact bytes that went over
// the wire (the request body the SDK sent, the response body the server answered).

import { HTTPClient, Leonardo } from "@leonardo-ai/sdk";

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`missing env ${name}`);
    process.exit(2);
  }
  return value;
}

// The last few exchanges, newest last: {method, url, requestBody, status, contentType, body}.
export const exchanges = [];

export function sdkFor(apiUrl, apiKey) {
  const httpClient = new HTTPClient({
    fetcher: async (input, init) => {
      const request = input instanceof Request ? input.clone() : new Request(input, init);
      const requestBody = request.body === null ? null : await request.text();
      const response = await fetch(input, init);
      const body = await response.clone().text();
      exchanges.push({
        method: request.method,
        url: request.url,
        requestBody,
        status: response.status,
        contentType: response.headers.get("content-type"),
        body,
      });
      if (exchanges.length > 5) exchanges.shift();
      return response;
    },
  });
  return new Leonardo({ bearerAuth: apiKey, serverURL: apiUrl, httpClient, timeoutMs: 30_000 });
}

export class CheckFailed extends Error {}

export function check(condition, message, value) {
  if (!condition) {
    throw new CheckFailed(`${message}${value === undefined ? "" : `: ${JSON.stringify(value)}`}`);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Everything known about a failure: the SDK's error, the zod issues, the raw exchange.
export function describe(error) {
  const lines = [`${error?.name ?? "Error"}: ${error?.message ?? error}`];
  if (typeof error?.pretty === "function") lines.push(error.pretty());
  const issues = error?.cause?.issues;
  if (Array.isArray(issues)) lines.push(`zod issues: ${JSON.stringify(issues, null, 2)}`);
  if (error?.rawValue !== undefined) lines.push(`raw value the SDK refused: ${JSON.stringify(error.rawValue)}`);
  if (typeof error?.statusCode === "number") {
    lines.push(`HTTP ${error.statusCode} ${error.contentType ?? ""}: ${error.body ?? ""}`);
  }
  const last = exchanges.at(-1);
  if (last) {
    lines.push(
      `last exchange: ${last.method} ${last.url} -> ${last.status} (${last.contentType})\n` +
        `request body: ${last.requestBody}\nraw response body: ${last.body}`,
    );
  }
  if (!(error instanceof CheckFailed) && error?.stack) lines.push(error.stack);
  return lines.join("\n");
}

// An unhandled rejection (e.g. the SDK choking on a body) fails the script instead of hanging it.
export function exitOnUnhandledRejection(script) {
  process.on("unhandledRejection", (error) => {
    console.error(`${script} FAILED (unhandled rejection): ${describe(error)}`);
    process.exit(1);
  });
}
