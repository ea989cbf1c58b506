// The Leonardo lifecycle through the official npm SDK (@leonardo-ai/sdk, zod-validated, strict)
// against a running Sfumato server. Any response the SDK refuses to parse is a failure: the
// script prints the SDK's error, the zod issues and the raw JSON the server sent, and exits 1.
// On success it prints one JSON line summarising what it checked and exits 0.
//
// Env: SFUMATO_API_URL (e.g. http://127.0.0.1:PORT/api/rest/v1), SFUMATO_API_KEY,
//      SFUMATO_USER_ID, SFUMATO_MODEL_ID.

import { check, describe, exitOnUnhandledRejection, requireEnv, sdkFor, sleep } from "./sdk_support.mjs";

const POLL_TIMEOUT_MS = 120_000;
const POLL_INTERVAL_MS = 250;

const apiUrl = requireEnv("SFUMATO_API_URL");
const apiKey = requireEnv("SFUMATO_API_KEY");
const userId = requireEnv("SFUMATO_USER_ID");
const modelId = requireEnv("SFUMATO_MODEL_ID");

const leonardo = sdkFor(apiUrl, apiKey);
exitOnUnhandledRejection("lifecycle.mjs");

async function main() {
  const steps = [];

  // 1. createGeneration
  const created = await leonardo.image.createGeneration({
    prompt: "a lighthouse at dusk, npm sdk",
    modelId,
    width: 64,
    height: 64,
    numImages: 1,
    numInferenceSteps: 10,
    alchemy: false,
  });
  check(created.statusCode === 200, "createGeneration status code", created.statusCode);
  const job = created.object?.sdGenerationJob;
  check(job != null, "createGeneration: sdGenerationJob missing", created.object);
  const generationId = job.generationId;
  check(typeof generationId === "string" && generationId.length > 0, "createGeneration: generationId", job);
  check(Number.isInteger(job.apiCreditCost), "createGeneration: apiCreditCost not an integer", job);
  steps.push("createGeneration");

  // 2. getGenerationById until COMPLETE
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  let generation;
  let polls = 0;
  const seenStatuses = new Set();
  for (;;) {
    const polled = await leonardo.image.getGenerationById(generationId);
    polls += 1;
    check(polled.statusCode === 200, "getGenerationById status code", polled.statusCode);
    generation = polled.object?.generationsByPk;
    check(generation != null, "getGenerationById: generationsByPk is null for a live generation", polled.object);
    seenStatuses.add(generation.status);
    if (generation.status === "COMPLETE" || generation.status === "FAILED") break;
    check(Date.now() < deadline, `generation not finished in ${POLL_TIMEOUT_MS / 1000}s`, generation);
    await sleep(POLL_INTERVAL_MS);
  }
  check(generation.status === "COMPLETE", "generation did not complete", generation);
  check(generation.id === generationId, "getGenerationById: id", generation.id);
  check(generation.imageWidth === 64 && generation.imageHeight === 64, "getGenerationById: size", generation);
  const images = generation.generatedImages ?? [];
  check(images.length === 1, "getGenerationById: expected 1 generated image", images);
  check(typeof images[0].url === "string" && images[0].url.length > 0, "image url", images[0]);
  steps.push("getGenerationById");

  // 3. getGenerationsByUserId
  const listed = await leonardo.image.getGenerationsByUserId(userId, 50, 0);
  check(listed.statusCode === 200, "getGenerationsByUserId status code", listed.statusCode);
  const generations = listed.object?.generations ?? [];
  check(
    generations.some((g) => g.id === generationId),
    "getGenerationsByUserId: new generation not listed",
    generations.map((g) => g.id),
  );
  steps.push("getGenerationsByUserId");

  // 4. getUserSelf
  const me = await leonardo.user.getUserSelf();
  check(me.statusCode === 200, "getUserSelf status code", me.statusCode);
  const details = me.object?.userDetails ?? [];
  check(details.length >= 1, "getUserSelf: userDetails empty", me.object);
  check(details[0].user?.id === userId, "getUserSelf: user id", details[0]);
  steps.push("getUserSelf");

  // 5. listPlatformModels
  const models = await leonardo.models.listPlatformModels();
  check(models.statusCode === 200, "listPlatformModels status code", models.statusCode);
  const customModels = models.object?.customModels ?? [];
  const modelIds = customModels.map((m) => m.id);
  check(modelIds.includes(modelId), "listPlatformModels: model not listed", modelIds);
  steps.push("listPlatformModels");

  // 6. deleteGenerationById
  const deleted = await leonardo.image.deleteGenerationById(generationId);
  check(deleted.statusCode === 200, "deleteGenerationById status code", deleted.statusCode);
  check(deleted.object?.deleteGenerationsByPk?.id === generationId, "deleteGenerationById: id", deleted.object);
  steps.push("deleteGenerationById");

  // 7. getGenerationById on the deleted id
  const gone = await leonardo.image.getGenerationById(generationId);
  check(gone.statusCode === 200, "getGenerationById (deleted) status code", gone.statusCode);
  check(gone.object?.generationsByPk === null, "getGenerationById (deleted): expected generationsByPk null", gone.object);
  steps.push("getGenerationById(deleted)");

  const summary = {
    ok: true,
    sdkVersion: "4.21.3",
    generationId,
    apiCreditCost: job.apiCreditCost,
    polls,
    seenStatuses: [...seenStatuses],
    status: generation.status,
    imageCount: images.length,
    imageWidth: generation.imageWidth,
    imageHeight: generation.imageHeight,
    sdVersion: generation.sdVersion ?? null,
    scheduler: generation.scheduler ?? null,
    listedGenerations: generations.length,
    userId: details[0].user.id,
    models: customModels.length,
    modelListed: modelIds.includes(modelId),
    deletedId: deleted.object.deleteGenerationsByPk.id,
    afterDelete: gone.object.generationsByPk,
    steps,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(`lifecycle.mjs FAILED: ${describe(error)}`);
  process.exit(1);
}
