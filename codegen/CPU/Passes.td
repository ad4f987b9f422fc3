#ifndef MATC_CPU_PASSES_TD
#define MATC_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

// Passes of the CPU back end. matc-cpu-lower-attention runs first, on the
// middle's tensors; the others run on buffers, after bufferization, and take
// their kernel shapes from the target (CpuTarget.h), never from constants of
// their own.

def LowerAttention : Pass<"matc-cpu-lower-attention"> {
  let summary = "Lower matformer.causal_attention to linalg on tensors";
  let description = [{
    The attention core that the middle keeps as one op
    (`matformer.causal_attention`) becomes an `scf.for` over tiles of
    `position-tile` key positions with an online (flash-style) softmax: per
    query row a running max, a running sum of exp(score - max) and a running
    weighted sum of V, rescaled by exp(old max - new max) as each tile
    raises the max, and divided by the sum at the end. Within a tile,
    linalg.generic ops on tensors: scores[kv_head, group, t, s] as a
    contraction over head_dim, the causal mask, the exponentials, and the
    weighted sum of V over the tile's positions (contiguous in the V cache).
    So only a [kv_heads, group, query-block, position-tile] block of scores
    exists at a time. Query rows go in blocks of `query-block`, each over
    the key positions up to its last row's only: a prompt skips most of the
    causally masked half of its scores. With `column-form` N > 0, a block
    of at least N query rows x group runs in the column form instead: its
    scaled queries transposed once to [kv_head, head_dim, row x group], the
    scores as [kv_head, position, row x group] and the weighted sum as
    [kv_head, head_dim, row x group], so both contractions are column
    contractions (outer products on the packed kernel, no horizontal sums)
    and the softmax's max and sum vectorize across query rows; smaller
    blocks (decode) keep the row form. Runs before bufferization.
  }];
  let options = [
    Option<"positionTile", "position-tile", "int64_t", /*default=*/"128",
           "Key positions per tile of the online softmax">,
    Option<"queryBlock", "query-block", "int64_t", /*default=*/"64",
           "Query rows per block (each attends up to its last row's position)">,
    Option<"columnForm", "column-form", "int64_t", /*default=*/"0",
           "Query rows x group from which a block runs in the column form "
           "(0: never)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FuseFfnEpilogue : Pass<"matc-cpu-fuse-ffn-epilogue"> {
  let summary = "Fuse the FFN's gate and up projections into strips of their activation-times-up epilogue";
  let description = [{
    Runs on tensors, before bufferization. A 2-D all-parallel `linalg` op
    with identity maps whose two inputs are projections (C[m, n] = sum_k
    A[m, k] * W[n, k], from a zero fill, used by it alone) is tiled along
    its columns into an `scf.forall` of strips of `columns` columns, with
    both projections and their fills fused into every strip. Each strip's
    gate and up values then stay in cache for the epilogue, and the full
    [rows, width] gate and up matrices are never written. Anything else
    (a projection with another use, such as a saved activation of the
    backward) is left alone.
  }];
  let options = [
    Option<"columns", "columns", "int64_t", /*default=*/"16",
           "Columns (FFN neurons) per strip">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

def MemRefCopyToLinalg : Pass<"matc-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    Bufferization copies with `memref.copy`, whose LLVM lowering calls
    `memrefCopy` from MLIR's runner-utils library for strided views (the KV
    cache slices). As `linalg.copy` the copy becomes loops in the generated
    code, and compiled models need no MLIR library at run time.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def VectorizeMatmuls : Pass<"matc-vectorize-matmuls"> {
  let summary = "Lower [M, K] x [N, K]^T matmuls to register-blocked vector loops";
  let description = [{
    Every projection in a MatFormer multiplies activations [M, K] by a weight
    stored [out, in] = [N, K]. This pass replaces such a contraction (on
    buffers, unit stride along K; a linalg.generic or a named linalg.matmul
    with transposed-B indexing maps, whose body is exactly
    `out + ext?(in0) * ext?(in1)`) with an `scf.parallel` over blocks of
    `columns` output columns; inside, blocks of `rows` rows run a
    rows x columns register kernel: rows * columns vector<lanes x f32>
    accumulators along K, so each loaded weight vector serves `rows` tokens
    and each activation vector `columns` outputs. Leftover rows use a
    1 x columns kernel (decode, M = 1), leftover columns a 1 x 1 kernel, and
    the last K mod lanes products a scalar loop. bf16 weights widen to f32
    in registers.

    Other row contractions (a batch dimension in both inputs, several row
    or column dimensions: attention's scores and its weighted sum of V) run
    on the same kernel, each operand indexed through its own map.

    With `packed-rows` > 0, a projection with at least that many rows
    (prefill, not decode) runs on the packed kernel instead: in parallel
    over panels of packed-vectors x lanes output columns, each
    packed-depth x panel block of the weight is copied to a buffer on the
    thread's stack (widened to f32), and packed-rows x packed-vectors vector
    accumulators of the output take outer products of broadcast activations
    with the buffer's rows: no horizontal sums, and the weight block is read
    from L1 by every row block. Columns that fill no panel use the dot
    kernel. The CPU back end sets every shape from the target's vector width
    and register count (CpuTarget.cpp).

    With `packed-rows` > 0, column contractions run on the same
    outer-product kernel too: the backward's dX = dY x W and dW = dY^T x X,
    and attention's batched gradients dQ = dS K, dK = dS^T Q, dV = P^T dO
    and dP = dO V^T. The operand that is contiguous along the output's
    innermost dimension is packed panel by panel with whole-vector copies;
    the broadcast operand, if k is not its innermost dimension, is first
    copied to a k-innermost heap buffer (rows that are a power of two apart
    alias in L1). Batch dimensions (KV heads) and panels run in parallel;
    further row dimensions and further reductions (grouped query heads) are
    loops around the kernel; columns that fill no panel are scalar dot
    products.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"16",
           "f32 lanes of one vector register (16: AVX-512, 8: AVX2)">,
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Rows (tokens) of the register block">,
    Option<"columns", "columns", "int64_t", /*default=*/"4",
           "Columns (outputs) of the register block">,
    Option<"packedRows", "packed-rows", "int64_t", /*default=*/"0",
           "Rows of the packed kernel's register tile (0: no packed kernel)">,
    Option<"packedVectors", "packed-vectors", "int64_t", /*default=*/"2",
           "Vectors of output columns in the packed kernel's register tile">,
    Option<"packedDepth", "packed-depth", "int64_t", /*default=*/"256",
           "Values of k per packed weight block">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::memref::MemRefDialect"];
}

def SequentialInnerLoops : Pass<"matc-cpu-sequential-inner-loops"> {
  let summary = "Keep the innermost dimension of elementwise parallel loops sequential";
  let description = [{
    Runs between convert-linalg-to-parallel-loops and convert-scf-to-openmp.
    An outermost `scf.parallel` of two or more dimensions, without reduction
    results and with a scalar body, becomes an `scf.parallel` over all but
    its last dimension around an `scf.for` over the last one. OpenMP then
    shares out the outer dimensions, and the unit-stride inner loop is left
    for LLVM's loop vectorizer; as one collapsed OpenMP loop every element
    would recompute its indices with divisions and nothing would vectorize.
    Loops whose bodies already hold vector operations (the register kernels
    of matc-vectorize-matmuls) and one-dimensional loops are left alone.
    An `scf.parallel` nested in another (the kernels and the epilogue inside
    a strip of matc-cpu-fuse-ffn-epilogue) becomes a nest of `scf.for`: the
    enclosing loop already shares out the work. A static-size
    `memref.alloca` of its body (the packed kernel's panel) moves before
    the nest, so the stack does not grow every iteration; with a dynamic
    size the loop is left alone.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def PromoteAccumulators : Pass<"matc-cpu-promote-accumulators"> {
  let summary = "Carry a reduction loop's accumulator in a register";
  let description = [{
    Runs after convert-linalg-to-parallel-loops. An `scf.for` without
    iter_args whose only write is a `memref.store` to an element at
    loop-invariant indices, read once by a `memref.load` of the same element
    before it and not otherwise accessed in the loop, becomes an `scf.for`
    carrying that element as an iter_arg: one load before the loop, one
    store after. These are the loops of linalg reductions (RMSNorm's sum of
    squares, attention's running max and sum): LLVM then keeps the value in
    a register and vectorizes the reassociable sums; with the store inside
    every one stayed scalar. Loops with nested
    regions, calls or other writes are left alone.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ScheduleLoops : Pass<"matc-cpu-schedule-loops"> {
  let summary = "Give the packed kernels' OpenMP worksharing loops a schedule";
  let description = [{
    Runs after convert-scf-to-openmp. Every `omp.wsloop` without a schedule
    clause whose body holds a packed kernel's panel buffer (an op marked
    `matc.packed_panel` by matc-vectorize-matmuls: the prefill projections
    and the backward's column contractions, whose iterations are each a
    panel over every row) gets `schedule`: `static` (libomp's default: one
    fixed share per thread), `dynamic` (iterations handed out as threads
    ask, so a core that runs faster at the moment takes more and neither
    waits long at the closing barrier) or `guided` (dynamic, with shares
    that shrink as the loop runs out). The default is `dynamic`, which
    matc-cpu-share-iterations turns into a counter in the generated code
    (one atomic add per panel). Other loops, and loops that already have a
    schedule, are left alone: a dynamic schedule costs a handshake per
    loop, which the many short loops of a decode step would pay.
  }];
  let options = [
    Option<"schedule", "schedule", "std::string", /*default=*/"\"dynamic\"",
           "static, dynamic or guided">,
  ];
  let dependentDialects = ["::mlir::omp::OpenMPDialect"];
}

def ShareIterations : Pass<"matc-cpu-share-iterations", "::mlir::ModuleOp"> {
  let summary = "Share out OpenMP worksharing loops' iterations in the generated code instead of libomp's calls";
  let description = [{
    Runs after matc-cpu-merge-parallel-regions, on `omp.wsloop` ops inside
    an `omp.parallel` with no clause but `nowait` and a schedule kind:
    - static (no schedule clause): an `scf.for` over the calling thread's
      share, balanced as libomp's `static` (with T iterations on N threads,
      the first T mod N threads run one more), from libomp's
      `__kmpc_bound_thread_num` and `__kmpc_bound_num_threads`, called
      once at the top of the region (names only libomp defines, unlike
      `omp_get_thread_num`, which a JIT could bind to GNU libgomp);
    - `schedule(dynamic)` without a chunk size, unless inside a loop of the
      region: an `scf.while` taking one iteration at a time from a counter
      (one atomic add each), a stack slot of the function zeroed before the
      region.
    Collapsed nests are shared over their linear index; a
    `memref.alloca_scope` at the top of a loop's body becomes its body
    between `llvm.intr.stacksave` and `llvm.intr.stackrestore` (its
    lowering would split the new loop's block). An `omp.barrier`
    follows each loop unless it had `nowait`. This replaces the OpenMP
    lowering's `__kmpc_for_static_init` and `__kmpc_dispatch_next` calls,
    which Debian's libomp (built with its debug tracing) slows with string
    formatting on every call. Loops with other clauses (a chunk size,
    guided, reductions, private values, ordered, linear), an inclusive
    bound, or outside a parallel region are left alone.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::omp::OpenMPDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def MergeParallelRegions : Pass<"matc-cpu-merge-parallel-regions"> {
  let summary = "One OpenMP region per stretch of worksharing loops; barriers only where a loop needs one";
  let description = [{
    Runs after convert-scf-to-openmp, which gives every parallel loop nest
    an `omp.parallel` of its own (a fork, the loop's barrier, a join).
    1. An `scf.if` without results whose branches hold only memory-effect
       free ops and `omp.parallel` ops moves into one `omp.parallel`, its
       branches' regions inlined (every thread takes the same branch).
    2. `omp.parallel` ops of one block separated only by memory-effect free
       ops, `memref.alloc`, `memref.alloca` and `memref.dealloc` become one:
       the ops in between move before it, the deallocations after it.
    3. A top-level `omp.wsloop` of a region gets `nowait` when it is the
       region's last (the join is a barrier) or when the next loop, and
       every loop since the last barrier, touch none of the buffers it
       writes and write none it reads. Buffers are compared by allocation:
       distinct `memref.alloc`s and an allocation against a function
       argument never alias; two function arguments may; an access that
       cannot be traced to one of them conflicts with everything.
    Regions with clauses (reductions, private values) are left alone.
  }];
  let dependentDialects = ["::mlir::omp::OpenMPDialect"];
}

def VectorizeTransposes : Pass<"matc-cpu-vectorize-transposes"> {
  let summary = "Elementwise ops that transpose their innermost dimension, in register tiles";
  let description = [{
    Runs on buffers. An all-parallel linalg op (`linalg.transpose`, or a
    `linalg.generic` whose body is elementwise arithmetic on its inputs)
    with one f32 output with contiguous rows, whose f32 inputs are all
    contiguous along one loop dimension other than the output's innermost
    one, at least one of them moving with the output's innermost dimension
    (the V cache's append [T, kv_heads, head_dim] -> [kv_heads, head_dim,
    positions]; attention's column form's scaled queries and its
    normalized output), becomes an `scf.parallel` over tiles of `lanes` x
    `lanes`: per row of the tile, vector loads along the inputs' rows (an
    input that does not move with the output's innermost dimension loads
    once per tile) and the body on vectors (values from above broadcast);
    then a transpose in registers (`vector.shuffle` interleaves,
    log2(lanes) rounds) and `lanes` vector stores along the output's rows.
    The edges that do not fill a tile stay clones of the op on subviews.
    When the tiled extents are only known at run time, the tile loop sits
    in an `scf.if` that skips it when no tile fits (a decode step's single
    row). Ops that read their output, use `linalg.index` or reduce are left
    alone.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"8",
           "Tile side: f32 lanes per vector (a power of two)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def ApproximateMath : Pass<"matc-cpu-approximate-math"> {
  let summary = "Replace exp, tanh, erf, log and friends on f32 by polynomials";
  let description = [{
    MLIR's polynomial approximations (a few ulp from the libm result), so the
    activations (SiLU, GELU's tanh) and softmax's exp vectorize instead of
    calling libm one element at a time.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif
