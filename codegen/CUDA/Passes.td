#ifndef MATC_CUDA_PASSES_TD
#define MATC_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

// Passes of the NVIDIA GPU back end (matc-cuda-backend, CudaPipeline.cpp).
// matc-cuda-lower-attention runs first, on the middle's tensors;
// matc-cuda-device-memory runs once every loop nest is a gpu.launch.

def LowerAttention : Pass<"matc-cuda-lower-attention"> {
  let summary = "Lower matformer.causal_attention to one fused GPU kernel";
  let description = [{
    The attention core that the middle keeps as one op becomes a `gpu.launch`
    named `matc_attention` (kernel module `matc_attention`): one block per
    (query tile, head), one thread per query row of the tile. A thread keeps
    its row's running max, running sum and the head_dim accumulators of the
    online (flash-style) softmax in registers and walks the key positions
    it may see (s <= start_pos + t, s < S) once, reading K and V straight
    from the cache: no [heads, tokens, positions] score tensor exists, in
    prefill and in decode alike. The query row is kept in registers too
    when head_dim <= `max-query-registers`, else re-read per key (an L1
    hit), so the kernel does not spill.

    The operands are taken as buffers (`bufferization.to_buffer`, read
    only) and the result is a new buffer returned through
    `bufferization.to_tensor restrict`, so one-shot bufferization runs
    after this pass unchanged.
  }];
  let options = [
    Option<"queryTile", "query-tile", "int64_t", /*default=*/"64",
           "Query rows (threads) per block">,
    Option<"maxQueryRegisters", "max-query-registers", "int64_t",
           /*default=*/"64",
           "Largest head_dim whose query row is kept in registers">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def DeviceMemory : Pass<"matc-cuda-device-memory", "::mlir::ModuleOp"> {
  let summary = "Host allocations become device allocations; check that host "
                "code never dereferences device memory";
  let description = [{
    Runs when every loop nest that touches memory is a `gpu.launch`. Host
    memory is then: the entry's `layer_widths` (`matformer.abi_arg =
    "layer_widths"`, read to choose the elastic widths), stack buffers, the
    allocations host code itself loads from or stores to (buffer
    deallocation's bookkeeping of pointers and ownership flags), and a
    private function's argument when every call passes host memory. Every
    other allocation outside a kernel (`memref.alloc` / `memref.dealloc`)
    becomes `gpu.alloc` / `gpu.dealloc`, each its own synchronous stream
    step (`gpu.wait async`, the async operation, `gpu.wait`), since only
    kernels read and write it.

    A load, store or copy in host code of a buffer that is not host memory
    is an error naming the operation: it would dereference a device pointer
    on the host.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def MergeKernelModules : Pass<"matc-cuda-merge-kernel-modules",
                               "::mlir::ModuleOp"> {
  let summary = "Put every outlined kernel in one gpu.module, matc_kernels";
  let description = [{
    `gpu-kernel-outlining` gives each kernel a gpu.module of its own; this
    pass moves every kernel into one module named `matc_kernels` (renaming a
    kernel only if two share a name) and points each `gpu.launch_func` at
    it. So a model is one PTX text and one cubin, loaded once, and
    `--emit ptx` writes a file `ptxas` accepts as it is.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def TensorCoreMatmuls : Pass<"matc-cuda-tensor-core-matmuls"> {
  let summary = "Projections on bf16 tensor cores (mma.sync m16n8k16, sm_80+)";
  let description = [{
    Opt-in (`matc compile --target cuda --cuda-tensor-cores`): every
    projection `out[m, n] += ext?(a[m, k]) * ext?(w[n, k])` on buffers (a
    linalg.generic or named op with transposed-B indexing maps; f32
    activations, f32 or bf16 weights, f32 output) whose N is a static
    multiple of 8 and K a static multiple of 16 becomes a `gpu.launch` of
    one warp per 16 x 8 output tile: along K, 16 at a time, each lane loads
    its fragments straight from global memory (A rows g and g + 8, columns
    2t, 2t + 1, 2t + 8, 2t + 9; W row n0 + g at the same columns, which is
    the "col" layout of B), rounds them to bf16, packs pairs into i32 and
    issues `nvvm.mma.sync` (bf16 x bf16 -> f32, row.col). The accumulators
    start from `out`, so a preceding fill or partial sum is kept. Rows past
    M are loaded clamped and not stored.

    The activations are rounded to bf16: results differ from the f32
    path by about 1e-3 relative, which is why it is not the default. Not
    yet run on a GPU. Other projections keep the generic mapping.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def EmulateLaunches : Pass<"matc-cuda-emulate-launches"> {
  let summary = "Run each gpu.launch as serial loops on the host (for tests)";
  let description = [{
    For testing the GPU back end's kernels on a machine without a GPU: every
    `gpu.launch` without shared memory, async tokens or barriers becomes
    six nested `scf.for` loops over its grid and block, running its body
    once per (block, thread) with the ids and sizes it would have read.
    Kernels that need threads of a block to run together (barriers,
    shuffles, shared memory) are refused. `matc compile --target cuda
    --cuda-emulate-on-cpu` uses it to build a CPU program from the GPU's
    loop nests, so tests compare their numbers with the reference.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

#endif
