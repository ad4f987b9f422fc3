// cuBLAS reference times for the GPU benchmark (test/gpu/run-on-device.sh):
// the prefill shapes of the hidden-1024 benchmark model
// (bench/specs/matlm-270m.json: hidden 1024, d_ff 4096, 16 heads of 64).
//   ffn_gate_up  [P, 1024] x [4096, 1024]^T, twice (gate and up)
//   ffn_down     [P, 4096] x [1024, 4096]^T
//   attn_qk      16 x [P, 64] x [P, 64]^T   (scores, batched)
//   attn_pv      16 x [P, P] x [P, 64]      (weighted sum, batched)
// in f32 (no TF32) and bf16 x bf16 -> f32 accumulation. Prints one JSON line
// per (op, dtype): milliseconds per call (median of 20 after 5 warm-ups)
// and TFLOP/s. Built by the script with nvcc -lcublas.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK_CUDA(x)                                                          \
  do {                                                                         \
    cudaError_t e = (x);                                                       \
    if (e != cudaSuccess) {                                                    \
      std::fprintf(stderr, "error: %s: %s\n", #x, cudaGetErrorString(e));      \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)
#define CHECK_CUBLAS(x)                                                        \
  do {                                                                         \
    cublasStatus_t s = (x);                                                    \
    if (s != CUBLAS_STATUS_SUCCESS) {                                          \
      std::fprintf(stderr, "error: %s: cuBLAS status %d\n", #x, int(s));      \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

struct Gemm {
  const char *name;
  int m, n, k, batch; // C[m, n] = A[m, k] B[k, n], row-major, `batch` times
  bool bTransposed;   // B stored [n, k] (a weight), else [k, n]
};

static double timeGemm(cublasHandle_t handle, const Gemm &g, bool bf16) {
  size_t elementA = size_t(g.m) * g.k, elementB = size_t(g.k) * g.n,
         elementC = size_t(g.m) * g.n;
  size_t bytesIn = bf16 ? 2 : 4;
  void *a, *b, *c;
  CHECK_CUDA(cudaMalloc(&a, elementA * g.batch * bytesIn));
  CHECK_CUDA(cudaMalloc(&b, elementB * g.batch * bytesIn));
  CHECK_CUDA(cudaMalloc(&c, elementC * g.batch * 4));
  CHECK_CUDA(cudaMemset(a, 0, elementA * g.batch * bytesIn));
  CHECK_CUDA(cudaMemset(b, 0, elementB * g.batch * bytesIn));
  float one = 1, zero = 0;
  cudaDataType_t in = bf16 ? CUDA_R_16BF : CUDA_R_32F;
  // Row-major C = A B is column-major C^T = B^T A^T.
  cublasOperation_t opB = g.bTransposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  int ldb = g.bTransposed ? g.k : g.n;
  auto run = [&] {
    CHECK_CUBLAS(cublasGemmStridedBatchedEx(
        handle, opB, CUBLAS_OP_N, g.n, g.m, g.k, &one, b, in, ldb,
        (long long)elementB, a, in, g.k, (long long)elementA, &zero, c,
        CUDA_R_32F, g.n, (long long)elementC, g.batch, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
  };
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  for (int i = 0; i < 5; ++i)
    run();
  std::vector<float> times;
  for (int i = 0; i < 20; ++i) {
    CHECK_CUDA(cudaEventRecord(start));
    run();
    CHECK_CUDA(cudaEventRecord(stop));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  CHECK_CUDA(cudaFree(a));
  CHECK_CUDA(cudaFree(b));
  CHECK_CUDA(cudaFree(c));
  return times[times.size() / 2];
}

int main(int argc, char **argv) {
  int prompt = argc > 1 ? std::atoi(argv[1]) : 512;
  cublasHandle_t handle;
  CHECK_CUBLAS(cublasCreate(&handle));
  // f32 means f32: no TF32 tensor cores.
  CHECK_CUBLAS(cublasSetMathMode(handle, CUBLAS_PEDANTIC_MATH));
  const Gemm gemms[] = {
      {"ffn_gate_up", prompt, 4096, 1024, 2, true},
      {"ffn_down", prompt, 1024, 4096, 1, true},
      {"attn_qk", prompt, prompt, 64, 16, true},
      {"attn_pv", prompt, 64, prompt, 16, false},
  };
  for (bool bf16 : {false, true}) {
    if (bf16)
      CHECK_CUBLAS(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
    for (const Gemm &g : gemms) {
      double ms = timeGemm(handle, g, bf16);
      double flops = 2.0 * g.m * g.n * double(g.k) * g.batch;
      std::printf("{\"engine\":\"cublas\",\"op\":\"%s\",\"dtype\":\"%s\","
                  "\"prompt\":%d,\"ms\":%.4f,\"tflops\":%.2f}\n",
                  g.name, bf16 ? "bf16" : "f32", prompt, ms,
                  flops / (ms * 1e-3) / 1e12);
    }
  }
  cublasDestroy(handle);
  return 0;
}
