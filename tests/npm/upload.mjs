// The init-image upload flow through the official npm SDK (@leonardo-ai/sdk, zod-validated) against a
// running Sfumato server, as a Node.js client does it: the SDK asks for the presigned form, then a
// plain fetch() POSTs FormData (the fields in order, then part `file`; no auth header) and expects 204.
// Any response the SDK refuses to parse is a failure: the script prints why and exits 1. On success it
// prints one JSON line of what it saw (tests/integration/test_npm_upload.py holds the expectations).
//
// Env: SFUMATO_API_URL, SFUMATO_API_KEY, SFUMATO_IMAGE_PATH (a PNG to upload), SFUMATO_MASK_PATH (a PNG mask).

import { readFile } from "node:fs/promises";

import { check, describe, exitOnUnhandledRejection, requireEnv, sdkFor } from "./sdk_support.mjs";

const leonardo = sdkFor(requireEnv("SFUMATO_API_URL"), requireEnv("SFUMATO_API_KEY"));
const image = await readFile(requireEnv("SFUMATO_IMAGE_PATH"));
const mask = await readFile(requireEnv("SFUMATO_MASK_PATH"));
exitOnUnhandledRejection("upload.mjs");

// The multipart POST to a presigned URL, as Leonardo's guide shows it in JavaScript.
async function postForm(url, fieldsJson, bytes, name) {
  check(typeof fieldsJson === "string", "fields is not a JSON-encoded string", fieldsJson);
  const form = new FormData();
  for (const [field, value] of Object.entries(JSON.parse(fieldsJson))) form.append(field, value);
  form.append("file", new Blob([bytes], { type: "image/png" }), name);
  const response = await fetch(url, { method: "POST", body: form });
  return { status: response.status, body: await response.text() };
}

async function servedUrl(id) {
  const got = await leonardo.initImages.getInitImageById(id);
  check(got.statusCode === 200, "getInitImageById status code", got.statusCode);
  const row = got.object?.initImagesByPk;
  check(row != null && row.id === id, "getInitImageById: initImagesByPk", got.object);
  check(typeof row.createdAt === "string", "getInitImageById: createdAt", row);
  return row.url;
}

async function main() {
  // 1. uploadInitImage, then the form
  const created = await leonardo.initImages.uploadInitImage({ extension: "png" });
  check(created.statusCode === 200, "uploadInitImage status code", created.statusCode);
  const upload = created.object?.uploadInitImage;
  check(upload != null && typeof upload.id === "string", "uploadInitImage: id", created.object);
  const urlBefore = await servedUrl(upload.id);
  const sent = await postForm(upload.url, upload.fields, image, "init.png");
  check(sent.status === 204 && sent.body === "", "upload: expected 204 with an empty body", sent);

  // 2. getInitImageById, and the file at its url
  const url = await servedUrl(upload.id);
  const file = await fetch(url);
  check(file.status === 200, "the uploaded file is not served", { url, status: file.status });
  const servedType = file.headers.get("content-type");
  const servedBytes = (await file.arrayBuffer()).byteLength;

  // 3. the same form again
  const reused = await postForm(upload.url, upload.fields, image, "init.png");

  // 4. uploadCanvasInitImage: two forms
  const canvasAnswer = await leonardo.initImages.uploadCanvasInitImage({ initExtension: "png", maskExtension: "png" });
  check(canvasAnswer.statusCode === 200, "uploadCanvasInitImage status code", canvasAnswer.statusCode);
  const canvas = canvasAnswer.object?.uploadCanvasInitImage;
  check(canvas != null, "uploadCanvasInitImage: body", canvasAnswer.object);
  const initSent = await postForm(canvas.initUrl, canvas.initFields, image, "init.png");
  const maskSent = await postForm(canvas.maskUrl, canvas.maskFields, mask, "mask.png");
  check(initSent.status === 204 && maskSent.status === 204, "canvas uploads", { initSent, maskSent });
  const maskUrl = await servedUrl(canvas.maskImageId);

  // 5. deleteInitImageById, then the id reads as null
  const deleted = await leonardo.initImages.deleteInitImageById(upload.id);
  check(deleted.statusCode === 200, "deleteInitImageById status code", deleted.statusCode);
  const gone = await leonardo.initImages.getInitImageById(upload.id);
  check(gone.statusCode === 200, "getInitImageById (deleted) status code", gone.statusCode);

  const summary = {
    ok: true,
    id: upload.id,
    key: upload.key,
    uploadUrl: upload.url,
    urlBeforeUpload: urlBefore,
    url,
    servedType,
    servedBytes,
    reusedStatus: reused.status,
    canvas: {
      initImageId: canvas.initImageId,
      maskImageId: canvas.maskImageId,
      initKey: canvas.initKey,
      maskKey: canvas.maskKey,
    },
    maskUrl,
    deletedId: deleted.object?.deleteInitImagesByPk?.id ?? null,
    afterDelete: gone.object?.initImagesByPk ?? null,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(`upload.mjs FAILED: ${describe(error)}`);
  process.exit(1);
}
