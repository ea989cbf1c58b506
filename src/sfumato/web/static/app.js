// Sfumato's web page: a client of the public REST API with the key the user pasted (Bearer header).
// No framework and no build step; every API error's `error` text is shown to the user.
import { ApiError, api, followEvents, setKey, uploadInitImage } from "./api.js";

const KEY_STORE = "sfumato.apiKey";
const PAGE_SIZE = 12;
const TERMINAL = new Set(["COMPLETE", "FAILED"]);
const VARIATION_WAIT_MS = 10 * 60 * 1000;

const state = { userId: null, offset: 0, openId: null, streams: new Set() };

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// --- errors -----------------------------------------------------------------------------------------

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

async function guarded(action) {
  try {
    return await action();
  } catch (error) {
    showError(error instanceof ApiError ? error.message : `Unexpected error: ${error.message}`);
    return undefined;
  }
}

// --- the key ----------------------------------------------------------------------------------------

async function useKey(key) {
  clearError();
  setKey(key);
  let me;
  try {
    me = await api("GET", "/me");
  } catch (error) {
    forgetKey();
    showError(`This key was refused: ${error.message}`);
    return;
  }
  sessionStorage.setItem(KEY_STORE, key);
  const user = me.user_details[0].user;
  state.userId = user.id;
  $("who").textContent = `Signed in as ${user.username || user.id}.`;
  $("api-key").value = "";
  $("key-forget").hidden = false;
  $("signed-in").hidden = false;
  await Promise.all([loadModels(), loadElements(), loadGallery(0)]);
}

function forgetKey() {
  for (const controller of state.streams) controller.abort();
  state.streams.clear();
  sessionStorage.removeItem(KEY_STORE);
  Object.assign(state, { userId: null, offset: 0, openId: null });
  setKey(null);
  $("who").textContent = "";
  $("key-forget").hidden = true;
  $("signed-in").hidden = true;
  $("jobs").replaceChildren();
  $("gallery").replaceChildren();
  $("detail").hidden = true;
}

// --- the playground ---------------------------------------------------------------------------------

async function loadModels() {
  const body = await guarded(() => api("GET", "/platformModels"));
  if (!body) return;
  const select = $("model");
  select.replaceChildren();
  let chosen = null;
  for (const model of body.custom_models) {
    const missing = / Not installed on this server/.test(model.description || "");
    select.append(el("option", { value: model.id, text: missing ? `${model.name} (not installed)` : model.name }));
    if (!missing && chosen === null) chosen = model.id;
  }
  if (chosen) select.value = chosen;
}

async function loadElements() {
  const body = await guarded(() => api("GET", "/elements"));
  if (!body || body.loras.length === 0) return;
  const list = el("ul", { class: "elements" });
  body.loras.forEach((lora, i) => {
    const weight = el("input", {
      id: `element-weight-${i}`, type: "number", step: "0.05", value: lora.weightDefault,
      min: lora.weightMin, max: lora.weightMax, "data-ak-uuid": lora.akUUID,
    });
    list.append(el("li", {},
      el("label", {}, el("input", { type: "checkbox", id: `element-${i}`, "data-ak-uuid": lora.akUUID }),
        ` ${lora.name} (${lora.baseModel})`),
      el("label", { for: `element-weight-${i}` }, "Weight "), weight));
  });
  $("elements").replaceChildren(list);
}

function numberOf(id) {
  const value = $(id).value.trim();
  return value === "" ? null : Number(value);
}

async function generationBody() {
  const body = {
    prompt: $("prompt").value,
    modelId: $("model").value,
    width: numberOf("width"),
    height: numberOf("height"),
    num_images: numberOf("num-images"),
    alchemy: $("alchemy").checked,
  };
  const negative = $("negative-prompt").value;
  if (negative.trim()) body.negative_prompt = negative;
  const optional = { seed: "seed", num_inference_steps: "steps" };
  for (const [name, id] of Object.entries(optional)) if (numberOf(id) !== null) body[name] = numberOf(id);
  if ($("preset-style").value) body.presetStyle = $("preset-style").value;
  if ($("tiling").checked) body.tiling = true;
  if ($("transparency").checked) body.transparency = "foreground_only";
  const elements = [...document.querySelectorAll("#elements input[type=checkbox]:checked")].map((box) => ({
    akUUID: box.dataset.akUuid,
    weight: Number(document.querySelector(`#elements input[type=number][data-ak-uuid="${box.dataset.akUuid}"]`).value),
  }));
  if (elements.length) body.elements = elements;
  const file = $("init-image").files[0];
  if (file) {
    body.init_image_id = await uploadInitImage(file);
    if ($("controlnet-type").value) {
      // Leonardo's legacy ControlNet: the init image is the control image (text-to-image guided by it).
      body.controlNet = true;
      body.controlNetType = $("controlnet-type").value;
      if (numberOf("controlnet-weight") !== null) body.weighting = numberOf("controlnet-weight");
    } else if (numberOf("init-strength") !== null) {
      body.init_strength = numberOf("init-strength");
    }
  } else if ($("controlnet-type").value) {
    throw new ApiError("Guidance needs an init image: choose one, or set guidance to None.");
  }
  return body;
}

async function generate(event) {
  event.preventDefault();
  clearError();
  const button = $("generate");
  button.disabled = true;
  try {
    await guarded(async () => {
      const answer = await api("POST", "/generations", await generationBody());
      watch(answer.sdGenerationJob.generationId);
      await loadGallery(0);
    });
  } finally {
    button.disabled = false;
  }
}

// --- live progress: the SSE stream read with fetch() (EventSource cannot send the Bearer header) ---

function jobCard(id) {
  const text = el("p", { class: "job-status", role: "status", "aria-live": "polite", text: "Submitted" });
  const bar = el("progress", { max: 1, value: 0, "aria-label": `Progress of generation ${id}` });
  const images = el("div", { class: "job-images" });
  const card = el("li", { class: "job", id: `job-${id}`, "data-generation-id": id, "data-state": "PENDING" },
    el("p", {}, el("code", { text: id.slice(0, 8) }), " ", el("span", { class: "job-prompt", text: $("prompt").value })),
    bar, text, images);
  $("jobs").prepend(card);
  return { card, text, bar, images };
}

function onEvent(view, name, data) {
  if (name === "status") {
    view.text.textContent = data.status === "PENDING" ? "Waiting for a worker" : data.status;
  } else if (name === "progress") {
    if (data.step === 0 && data.queuePosition !== null && data.queuePosition !== undefined) {
      view.text.textContent = data.queuePosition === 0 ? "Queued: next" : `Queued: ${data.queuePosition} ahead`;
    } else {
      view.text.textContent = `Step ${data.step} of ${data.total}`;
    }
    if (data.total) {
      view.bar.max = data.total;
      view.bar.value = data.step;
      view.card.dataset.step = data.step;
      view.card.dataset.steps = [view.card.dataset.steps, data.step].filter((x) => x !== undefined).join(",");
      view.card.dataset.total = data.total;
    }
  } else if (name === "image") {
    view.images.append(el("a", { href: data.url, target: "_blank", rel: "noopener" },
      el("img", { src: data.url, alt: `Generated image ${data.id}`, class: "thumb", "data-image-id": data.id })));
  } else if (name === "complete" || name === "failed") {
    view.card.dataset.state = data.status;
    view.text.textContent = name === "complete" ? "Complete" : `Failed: ${data.failureReason || "no reason given"}`;
    if (name === "complete") view.bar.value = view.bar.max;
    loadGallery(state.offset);
    return true;
  }
  return false;
}

async function watch(id) {
  const view = jobCard(id);
  const controller = new AbortController();
  state.streams.add(controller);
  const onTrouble = (message, final) => {
    view.text.textContent = message;
    if (final) showError(`Progress of ${id}: ${message}`);
  };
  try {
    await followEvents(id, { onEvent: (name, data) => onEvent(view, name, data), onTrouble, signal: controller.signal });
  } finally {
    state.streams.delete(controller);
  }
}

// --- the gallery ------------------------------------------------------------------------------------

async function loadGallery(offset) {
  if (!state.userId) return;
  const body = await guarded(() => api("GET", `/generations/user/${state.userId}?offset=${offset}&limit=${PAGE_SIZE}`));
  if (!body) return;
  state.offset = offset;
  const list = $("gallery");
  list.replaceChildren();
  for (const generation of body.generations) {
    const first = generation.generated_images[0];
    const picture = first
      ? el("img", { src: first.url, alt: "", class: "thumb", loading: "lazy" })
      : el("span", { class: "thumb placeholder", "aria-hidden": "true", text: generation.status });
    list.append(el("li", { "data-generation-id": generation.id, "data-status": generation.status },
      el("button", { type: "button", class: "open", onclick: () => openGeneration(generation.id) },
        picture, el("span", { class: "caption", text: `${generation.prompt} (${generation.status})` }))));
  }
  if (body.generations.length === 0) list.append(el("li", { class: "muted", text: "No generations yet." }));
  $("page-prev").disabled = offset === 0;
  $("page-next").disabled = body.generations.length < PAGE_SIZE;
  $("page-info").textContent = `Page ${Math.floor(offset / PAGE_SIZE) + 1}`;
}

// --- one generation ---------------------------------------------------------------------------------

const PARAMS = [
  ["Status", "status"], ["Prompt", "prompt"], ["Negative prompt", "negativePrompt"], ["Model", "modelId"],
  ["Width", "imageWidth"], ["Height", "imageHeight"], ["Steps", "inferenceSteps"], ["Guidance scale", "guidanceScale"],
  ["Seed", "seed"], ["Scheduler", "scheduler"], ["Preset style", "presetStyle"], ["Init strength", "initStrength"],
  ["Created", "createdAt"], ["Failure", "failureReason"],
];

const VARIATIONS = [["upscale", "Upscale", "sdUpscaleJob"], ["nobg", "Remove background", "sdNobgJob"],
  ["unzoom", "Unzoom", "sdUnzoomJob"]];

async function openGeneration(id) {
  clearError();
  const body = await guarded(() => api("GET", `/generations/${id}`));
  if (!body) return;
  const generation = body.generations_by_pk;
  if (!generation) { showError("This generation no longer exists."); return; }
  state.openId = id;
  $("detail-heading").textContent = `Generation ${id}`;
  $("detail").dataset.generationId = id;
  const params = $("detail-params");
  params.replaceChildren();
  for (const [label, key] of PARAMS) {
    if (generation[key] === null || generation[key] === undefined || generation[key] === "") continue;
    params.append(el("dt", { text: label }), el("dd", { text: String(generation[key]) }));
  }
  for (const element of generation.generation_elements) {
    params.append(el("dt", { text: "Element" }), el("dd", { text: `${element.lora ? element.lora.name : "a user element"} at ${element.weightApplied}` }));
  }
  const images = $("detail-images");
  images.replaceChildren();
  for (const image of generation.generated_images) images.append(imageFigure(image));
  $("delete-confirm").hidden = true;
  $("detail-delete").hidden = false;
  $("detail").hidden = false;
  $("detail").focus();
}

function imageFigure(image) {
  const buttons = VARIATIONS.map(([route, label, answerKey]) =>
    el("button", { type: "button", "data-action": route, onclick: () => makeVariation(route, label, answerKey, image.id) },
      label));
  const variations = el("ul", { class: "variations" });
  for (const variation of image.generated_image_variation_generics) {
    const item = el("li", { "data-variation-id": variation.id, "data-status": variation.status,
      "data-transform": variation.transformType }, `${variation.transformType}: ${variation.status} `);
    if (variation.url) {
      item.append(el("a", { href: variation.url, target: "_blank", rel: "noopener" },
        el("img", { src: variation.url, alt: `${variation.transformType} of image ${image.id}`, class: "thumb" })));
    }
    variations.append(item);
  }
  return el("figure", { "data-image-id": image.id },
    el("a", { href: image.url, target: "_blank", rel: "noopener" },
      el("img", { src: image.url, alt: `Generated image ${image.id}`, class: "full" })),
    el("figcaption", {}, el("div", { class: "row" }, ...buttons),
      image.generated_image_variation_generics.length ? variations : null));
}

async function makeVariation(route, label, answerKey, imageId) {
  clearError();
  const status = $("detail-status");
  const generationId = state.openId;
  const made = await guarded(() => api("POST", `/variations/${route}`, { id: imageId }));
  if (!made) return;
  const variationId = made[answerKey].id;
  status.textContent = `${label}: queued`;
  const deadline = Date.now() + VARIATION_WAIT_MS;
  while (Date.now() < deadline && state.openId === generationId) {
    const body = await guarded(() => api("GET", `/variations/${variationId}`));
    if (!body) return;
    const variation = body.generated_image_variation_generic[0];
    if (!variation) { showError(`${label}: the variation is gone.`); return; }
    status.textContent = `${label}: ${variation.status}`;
    if (TERMINAL.has(variation.status)) {
      if (variation.status === "FAILED") showError(`${label} failed: ${variation.failureReason || "no reason given"}`);
      await openGeneration(generationId);
      status.textContent = `${label}: ${variation.status}`;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (state.openId === generationId) status.textContent = `${label}: still running; reopen the generation later.`;
}

async function deleteOpen() {
  const id = state.openId;
  const body = await guarded(() => api("DELETE", `/generations/${id}`));
  if (!body) return;
  $("detail").hidden = true;
  state.openId = null;
  $("detail-status").textContent = "";
  $("who").textContent = body.delete_generations_by_pk ? `Deleted generation ${id}.` : `Generation ${id} was already gone.`;
  document.querySelector(`#job-${CSS.escape(id)}`)?.remove();
  await loadGallery(state.offset);
}

// --- wiring -----------------------------------------------------------------------------------------

function previewInitImage() {
  const preview = $("init-preview");
  const file = $("init-image").files[0];
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.hidden = !file;
  if (file) preview.src = URL.createObjectURL(file);
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (key) useKey(key);
  });
  $("key-forget").addEventListener("click", forgetKey);
  $("error-close").addEventListener("click", clearError);
  $("generate-form").addEventListener("submit", generate);
  $("init-image").addEventListener("change", previewInitImage);
  $("page-prev").addEventListener("click", () => loadGallery(Math.max(0, state.offset - PAGE_SIZE)));
  $("page-next").addEventListener("click", () => loadGallery(state.offset + PAGE_SIZE));
  $("detail-close").addEventListener("click", () => { $("detail").hidden = true; state.openId = null; });
  $("detail-delete").addEventListener("click", () => {
    $("delete-confirm").hidden = false;
    $("detail-delete").hidden = true;
    $("delete-yes").focus();
  });
  $("delete-no").addEventListener("click", () => { $("delete-confirm").hidden = true; $("detail-delete").hidden = false; });
  $("delete-yes").addEventListener("click", deleteOpen);
  const saved = sessionStorage.getItem(KEY_STORE);
  if (saved) useKey(saved);
});
