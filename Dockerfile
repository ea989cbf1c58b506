# The one image every Sfumato process runs (compose.yaml: migrate, api, worker); the command says which.
# CPU torch by default, so the image builds and runs anywhere. For NVIDIA GPU hosts pick a CUDA wheel
# index that carries torch 2.13.0 (https://pytorch.org/get-started/locally/), e.g.
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130 -t sfumato .
# The API process never imports torch, so one CUDA image serves API and workers alike.
FROM python:3.12-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    SFUMATO_DATA_DIR=/data

# torch first, from its own index: `pip install .` then finds torch==2.13.0 satisfied and never pulls
# the (CUDA-bundling) PyPI wheel.
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /app/build

# Not root; /data holds downloaded model weights (and, with SFUMATO_STORAGE=local, the images).
RUN useradd --create-home --uid 10001 sfumato && mkdir -p /data && chown sfumato:sfumato /data
USER sfumato
VOLUME ["/data"]
EXPOSE 8000

ENTRYPOINT ["sfumato"]
CMD ["serve", "--host", "0.0.0.0"]
