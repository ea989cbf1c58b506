// The REST API as the page uses it: the pasted key as the Bearer header, Leonardo's error bodies turned
// into readable messages, the presigned upload, and the progress stream (SSE over fetch()).
"use strict";

export const API = "/api/rest/v1";
const RECONNECT_MS = 1000;
const MAX_FAILURES = 20;

let bearer = null;

export function setKey(key) {
  bearer = key;
}

export class ApiError extends Error {}

export async function errorText(response) {
  // Leonardo's body is {"error", "path", "code"}; an S3 bucket answers XML; anything else: the status.
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === "string") {
      const where = body.path && body.path !== "$" ? ` (${body.path})` : "";
      return `${body.error}${where} [HTTP ${response.status}]`;
    }
  } catch (_) { /* not JSON */ }
  const s3 = /<Message>([^<]*)<\/Message>/.exec(text);
  return `${s3 ? s3[1] : text.slice(0, 300) || response.statusText} [HTTP ${response.status}]`;
}

export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${bearer}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch (error) {
    throw new ApiError(`The server did not answer ${method} ${path}: ${error.message}`);
  }
  if (!response.ok) throw new ApiError(await errorText(response));
  return response.status === 204 ? null : response.json();
}

export async function uploadInitImage(file) {
  // Leonardo's two steps: ask for a presigned form, then POST it with the file last (no auth header:
  // the signed fields are the credential). With S3 storage `url` is the bucket's.
  const extension = (file.name.split(".").pop() || "png").toLowerCase();
  const made = (await api("POST", "/init-image", { extension })).uploadInitImage;
  const form = new FormData();
  for (const [name, value] of Object.entries(JSON.parse(made.fields))) form.append(name, value);
  form.append("file", file);
  let response;
  try {
    response = await fetch(made.url, { method: "POST", body: form });
  } catch (error) {
    throw new ApiError(`The upload to ${made.url} failed: ${error.message}`);
  }
  if (!response.ok) throw new ApiError(`The init image upload was refused: ${await errorText(response)}`);
  return made.id;
}

export function parseEvents(buffer, handle) {
  // Blocks end with a blank line; each line is `field: value`; a line starting with `:` is a comment.
  // Returns the unfinished tail, to be continued by the next chunk.
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    const event = { name: "message", data: [], id: null };
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event.name = value;
      else if (field === "data") event.data.push(value);
      else if (field === "id") event.id = value;
    }
    if (event.data.length || event.id !== null) handle(event);
  }
  return rest;
}

// Follows GET /generations/{id}/events until `onEvent` says it saw the end (returns true), the server
// says there is nothing more (204), an error answer (given to `onTrouble`, then stop), or the signal
// aborts. A dropped stream is resumed with Last-Event-ID; 20 drops in a row without data end it.
export async function followEvents(id, { onEvent, onTrouble, signal }) {
  let lastId = null;
  let failures = 0;
  let done = false;
  while (!done && failures < MAX_FAILURES && !signal.aborted) {
    const headers = { Authorization: `Bearer ${bearer}`, Accept: "text/event-stream" };
    if (lastId) headers["Last-Event-ID"] = lastId;
    try {
      const response = await fetch(`${API}/generations/${id}/events`, { headers, signal });
      if (response.status === 204) return;
      if (!response.ok) {
        onTrouble(await errorText(response), true);
        return;
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (!done) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        failures = 0;
        buffer = parseEvents(buffer + value, (event) => {
          if (event.id !== null) lastId = event.id;
          if (onEvent(event.name, JSON.parse(event.data.join("\n") || "{}"))) done = true;
        });
      }
      if (done) await reader.cancel();
    } catch (error) {
      if (signal.aborted) return;
      failures += 1;
      onTrouble(`Reconnecting (${error.message})`, false);
    }
    if (!done) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}
