// The SDK-defaults table through the official npm SDK (@leonardo-ai/sdk): each row sets only the
// fields a user commonly flips and lets the SDK fill all its other defaults, exactly as real
// traffic does. For each row it creates the generation, records the body the SDK put on the wire,
// reads the generation back (polling to COMPLETE or FAILED for rows marked `complete`) and prints
// what it saw; tests/integration/test_sdk_defaults.py holds the expectations.
// A row the SDK refuses (HTTP error or a response zod rejects) is reported in its `error`.
//
// Env: SFUMATO_API_URL, SFUMATO_API_KEY, SFUMATO_ROWS (JSON: [{name, fields, complete}], the
//      fields in the npm SDK's names), SFUMATO_POLL_TIMEOUT_MS.
// Output: one JSON line, a list with one result per row.

import { check, describe, exchanges, exitOnUnhandledRejection, requireEnv, sdkFor, sleep } from "./sdk_support.mjs";

const POLL_INTERVAL_MS = 250;

const leonardo = sdkFor(requireEnv("SFUMATO_API_URL"), requireEnv("SFUMATO_API_KEY"));
const rows = JSON.parse(requireEnv("SFUMATO_ROWS"));
const pollTimeoutMs = Number(requireEnv("SFUMATO_POLL_TIMEOUT_MS"));
exitOnUnhandledRejection("defaults_table.mjs");

async function readBack(generationId, complete) {
  const deadline = Date.now() + pollTimeoutMs;
  for (;;) {
    const polled = await leonardo.image.getGenerationById(generationId);
    check(polled.statusCode === 200, "getGenerationById status code", polled.statusCode);
    const generation = polled.object?.generationsByPk;
    check(generation != null, "getGenerationById: generationsByPk is null for a live generation", polled.object);
    if (!complete || generation.status === "COMPLETE" || generation.status === "FAILED") return generation;
    check(Date.now() < deadline, `generation not finished in ${pollTimeoutMs / 1000}s`, generation);
    await sleep(POLL_INTERVAL_MS);
  }
}

async function runRow(row) {
  const created = await leonardo.image.createGeneration(row.fields);
  const sent = exchanges.at(-1);
  check(sent?.method === "POST" && sent.url.endsWith("/generations"), "the create exchange was not recorded", sent);
  check(created.statusCode === 200, "createGeneration status code", created.statusCode);
  const job = created.object?.sdGenerationJob;
  check(typeof job?.generationId === "string" && job.generationId.length > 0, "createGeneration: generationId", job);
  const generation = await readBack(job.generationId, row.complete);
  return {
    name: row.name,
    wire: JSON.parse(sent.requestBody),
    generationId: job.generationId,
    apiCreditCost: job.apiCreditCost,
    status: generation.status,
    imageWidth: generation.imageWidth,
    imageHeight: generation.imageHeight,
    presetStyle: generation.presetStyle ?? null,
    inferenceSteps: generation.inferenceSteps ?? null,
    imageUrls: (generation.generatedImages ?? []).map((image) => image.url),
  };
}

const results = [];
for (const row of rows) {
  try {
    results.push(await runRow(row));
  } catch (error) {
    results.push({ name: row.name, error: describe(error) });
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
