# mrpc-tune in a slim CUDA image: `docker build -t mlops_project .`, then
#   docker run --gpus all -v "$PWD/models:/work/models" -u "$(id -u):$(id -g)" \
#     mlops_project --checkpoint_dir models --lr 3e-5 --batch_size 16
# (the first argument a flag: train; or `tune …`, `predict …`, `demo`, `sync …`, `report …`).
# Base images are build arguments: the defaults are what tfjs-node-gpu 4.22 needs (CUDA 11.2 +
# cuDNN 8.1 for its libtensorflow 2.9.1). Secrets (WANDB_API_KEY, HF_TOKEN) are given only at
# run time (`-e`), never here.

ARG BUILD_IMAGE=node:20-bookworm
# The runtime is CUDA's smallest image (`-base`: libcudart, no math libraries) plus exactly the
# libraries libtensorflow 2.9.1 opens, copied from the cuDNN image (the cuda-libs stage below).
ARG RUNTIME_IMAGE=nvidia/cuda:11.2.2-base-ubuntu20.04
ARG CUDA_LIBS_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
# Where the CUDA libraries come from: cuda-libs, or no-cuda-libs for a CPU-only image
# (--build-arg RUNTIME_IMAGE=debian:bookworm-slim --build-arg CUDA_LIBS=no-cuda-libs).
ARG CUDA_LIBS=cuda-libs
# The stage whose /out/ holds the program (`mrpc-tune`, and lib/ with libtensorflow): the build
# stage below, or an image made elsewhere (the container test passes its own).
ARG PROGRAM_FROM=build

# --- build: Deno from npm, the dependencies with tfjs-node-gpu's install script, the binary ---
FROM ${BUILD_IMAGE} AS build
ARG DENO_VERSION=2.9.6
# The commit `--version` names (the context has no .git): --build-arg MRPC_TUNE_COMMIT=$(git rev-parse HEAD)
ARG MRPC_TUNE_COMMIT=unknown
RUN npm install -g deno@${DENO_VERSION}
WORKDIR /src
COPY . .
# tfjs-node-gpu's install script fetches libtensorflow 2.9.1 (GPU) and its N-API addon; the
# addon is published for N-API 3-8, and node-pre-gyp takes the highest the runtime has (Deno 2.9
# reports N-API 10): lib/napi-v8.
RUN deno install --node-modules-dir=auto --allow-scripts=npm:@tensorflow/tfjs-node-gpu \
      --entrypoint main.ts \
 && ls node_modules/.deno/@tensorflow+tfjs-node-gpu@*/node_modules/@tensorflow/tfjs-node-gpu/lib/
# compile:native embeds the node_modules folder (tfjs-node-gpu and its addon, which the program
# imports only on demand); `deno task compile` embeds only what the module graph reaches.
RUN MRPC_TUNE_COMMIT=${MRPC_TUNE_COMMIT} deno task compile:native \
 && mkdir -p /out/lib \
 && cp dist/mrpc-tune /out/mrpc-tune \
 && cp -a node_modules/.deno/@tensorflow+tfjs-node-gpu@*/node_modules/@tensorflow/tfjs-node-gpu/deps/lib/. /out/lib/ \
 && /out/mrpc-tune --version

FROM ${PROGRAM_FROM} AS program

# --- cuda-libs: the shared libraries libtensorflow 2.9.1 loads (its dso_loader: cudart 11.0,
# cublas/cublasLt 11, cufft 10, curand 10, cusolver 11, cusparse 11, cudnn 8; TensorFlow skips
# the GPU when any is missing), and the libraries cuDNN 8 itself opens (ops, cnn, adv; infer and
# train). libcuda.so.1 is the driver's: the NVIDIA Container Toolkit mounts it. ---
FROM ${CUDA_LIBS_IMAGE} AS cuda-libs
RUN set -eu; mkdir -p /cuda-libs; \
    for lib in libcudart.so.11.0 libcublas.so.11 libcublasLt.so.11 libcufft.so.10 \
               libcurand.so.10 libcusolver.so.11 libcusparse.so.11 libcudnn.so.8 \
               libcudnn_ops_infer.so.8 libcudnn_ops_train.so.8 libcudnn_cnn_infer.so.8 \
               libcudnn_cnn_train.so.8 libcudnn_adv_infer.so.8 libcudnn_adv_train.so.8; do \
      path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }'); \
      test -n "$path" || { echo "missing $lib" >&2; exit 1; }; \
      cp -L "$path" "/cuda-libs/$lib"; \
    done

# --- no-cuda-libs: nothing to add (a CPU-only image) ---
FROM ${RUNTIME_IMAGE} AS no-cuda-libs
RUN mkdir -p /cuda-libs

FROM ${CUDA_LIBS} AS cuda

# --- runtime: the CUDA base, its libraries, the program, a non-root user ---
FROM ${RUNTIME_IMAGE} AS runtime
ARG USER_UID=1000
COPY --from=program /out/ /opt/mrpc-tune/
COPY --from=cuda /cuda-libs/ /opt/mrpc-tune/cuda-libs/
# libtensorflow where the loader finds it: the binary extracts the .node addon flat into
# $TMPDIR, away from the deps/lib its RUNPATH names.
RUN set -eu; \
    ln -s /opt/mrpc-tune/mrpc-tune /usr/local/bin/mrpc-tune; \
    for d in /opt/mrpc-tune/lib /opt/mrpc-tune/cuda-libs; do \
      if ls "$d"/*.so* >/dev/null 2>&1; then echo "$d" >> /etc/ld.so.conf.d/mrpc-tune.conf; fi; \
    done; \
    if [ -f /etc/ld.so.conf.d/mrpc-tune.conf ]; then ldconfig; fi; \
    useradd --uid "${USER_UID}" --user-group --create-home --home-dir /home/mrpc \
      --shell /usr/sbin/nologin mrpc; \
    mkdir -p /work/models /cache/huggingface; \
    chmod 1777 /work /work/models /cache /cache/huggingface /home/mrpc
ENV HOME=/home/mrpc \
    HF_HOME=/cache/huggingface \
    TMPDIR=/tmp \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    DENO_NO_UPDATE_CHECK=1
# Checkpoints (`--checkpoint_dir models` lands in /work/models) and the Hugging Face cache are
# the folders to mount.
WORKDIR /work
USER mrpc
ENTRYPOINT ["/usr/local/bin/mrpc-tune"]
CMD ["--help"]
