//===- LowerAttention.cpp - matformer.causal_attention -> one GPU kernel --===//
//
// The GPU's form of the attention core: one gpu.launch, one block per
// (query tile, head), one thread per query row, an online softmax over the
// visible key positions with the row's accumulators in registers. Built on
// buffers (to_buffer of the operands, a new buffer for the result) before
// bufferization, which then sees only to_buffer / to_tensor here.
//
//===----------------------------------------------------------------------===//
#include "CUDA/Passes.h"
#include "matc/Dialect/MatFormer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace matc::cuda {
#define GEN_PASS_DEF_LOWERATTENTION
#include "CUDA/Passes.h.inc"
} // namespace matc::cuda

using namespace mlir;
using matc::matformer::CausalAttentionOp;

namespace {

/// The name of the kernel (and of its gpu.module) after outlining.
constexpr llvm::StringLiteral kKernelName = "matc_attention";

/// A rank-3 f32 buffer of `shape`, contiguous along its last dimension, with
/// any other strides and offset: what to_buffer hands back, without a copy,
/// for the query (a fresh tensor) and the cache slices (head_dim, resp. the
/// positions, innermost). The unit stride keeps each thread's addresses a
/// base plus constant offsets, so the row's registers are not spent on
/// address arithmetic.
MemRefType anyLayoutBuffer(RankedTensorType type) {
  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(type.getContext(), dyn,
                                       {dyn, dyn, 1});
  return MemRefType::get(type.getShape(), type.getElementType(), layout);
}

struct AttentionKernel {
  int64_t heads, kvHeads, headDim, tile, maxQueryRegisters;
  double scale;
};

/// The body of one thread: row `t` of head `h`, if t < T.
void buildRow(OpBuilder &b, Location loc, const AttentionKernel &k, Value q,
              Value keys, Value values, Value out, Value start, Value t,
              Value h) {
  Type f32 = b.getF32Type();
  auto index = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  auto f32Constant = [&](double v) {
    return arith::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(v))
        .getResult();
  };
  Value kvHead = arith::DivUIOp::create(
      b, loc, h, index(k.heads / k.kvHeads));
  // Keys s < min(start + t + 1, S).
  Value numKeys = memref::DimOp::create(b, loc, keys, 0);
  Value visible = arith::AddIOp::create(
      b, loc, arith::AddIOp::create(b, loc, start, t), index(1));
  Value end = arith::MinUIOp::create(b, loc, visible, numKeys);

  bool queryInRegisters = k.headDim <= k.maxQueryRegisters;
  SmallVector<Value> queryRow;
  if (queryInRegisters)
    for (int64_t d = 0; d < k.headDim; ++d)
      queryRow.push_back(
          memref::LoadOp::create(b, loc, q, ValueRange{t, h, index(d)}));

  // iter_args: running max, running sum, headDim accumulators.
  SmallVector<Value> init = {
      f32Constant(-std::numeric_limits<double>::infinity()), f32Constant(0)};
  for (int64_t d = 0; d < k.headDim; ++d)
    init.push_back(f32Constant(0));
  Value scale = f32Constant(k.scale);
  auto loop = scf::ForOp::create(
      b, loc, index(0), end, index(1), init,
      [&](OpBuilder &b, Location loc, Value s, ValueRange carried) {
        Value dot = f32Constant(0);
        for (int64_t d = 0; d < k.headDim; ++d) {
          Value dIndex = index(d);
          Value qd = queryInRegisters
                         ? queryRow[d]
                         : memref::LoadOp::create(b, loc, q,
                                                  ValueRange{t, h, dIndex})
                               .getResult();
          Value kd = memref::LoadOp::create(b, loc, keys,
                                            ValueRange{s, kvHead, dIndex});
          dot = math::FmaOp::create(b, loc, qd, kd, dot);
        }
        Value score = arith::MulFOp::create(b, loc, dot, scale);
        Value max = carried[0], sum = carried[1];
        Value newMax = arith::MaximumFOp::create(b, loc, max, score);
        Value rescale = math::ExpOp::create(
            b, loc, arith::SubFOp::create(b, loc, max, newMax));
        Value weight = math::ExpOp::create(
            b, loc, arith::SubFOp::create(b, loc, score, newMax));
        SmallVector<Value> next = {
            newMax, math::FmaOp::create(b, loc, sum, rescale, weight)};
        for (int64_t d = 0; d < k.headDim; ++d) {
          Value vd = memref::LoadOp::create(b, loc, values,
                                            ValueRange{kvHead, index(d), s});
          Value scaled = arith::MulFOp::create(b, loc, carried[2 + d], rescale);
          next.push_back(math::FmaOp::create(b, loc, weight, vd, scaled));
        }
        scf::YieldOp::create(b, loc, next);
      });
  Value inverse = arith::DivFOp::create(b, loc, f32Constant(1),
                                        loop.getResult(1));
  for (int64_t d = 0; d < k.headDim; ++d) {
    Value value =
        arith::MulFOp::create(b, loc, loop.getResult(2 + d), inverse);
    memref::StoreOp::create(b, loc, value, out, ValueRange{t, h, index(d)});
  }
}

struct LowerCausalAttention : OpRewritePattern<CausalAttentionOp> {
  LowerCausalAttention(MLIRContext *context, int64_t tile,
                       int64_t maxQueryRegisters)
      : OpRewritePattern(context), tile(tile),
        maxQueryRegisters(maxQueryRegisters) {}

  LogicalResult matchAndRewrite(CausalAttentionOp op,
                                PatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto queryType = op.getQuery().getType();
    if (!queryType.hasStaticShape() && queryType.getNumDynamicDims() != 1)
      return b.notifyMatchFailure(op, "only the token dimension may be dynamic");
    AttentionKernel kernel{op.getNumHeads(), op.getNumKvHeads(),
                           op.getHeadDim(),  tile,
                           maxQueryRegisters, op.getScale().convertToDouble()};
    Value q = bufferization::ToBufferOp::create(
        b, loc, anyLayoutBuffer(queryType), op.getQuery(), /*read_only=*/true);
    Value keys = bufferization::ToBufferOp::create(
        b, loc, anyLayoutBuffer(op.getKeys().getType()), op.getKeys(),
        /*read_only=*/true);
    Value values = bufferization::ToBufferOp::create(
        b, loc, anyLayoutBuffer(op.getValues().getType()), op.getValues(),
        /*read_only=*/true);
    Value start = op.getStartPos();
    if (!start)
      start = arith::ConstantIndexOp::create(b, loc, 0);

    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value rows = memref::DimOp::create(b, loc, q, zero);
    auto outType = MemRefType::get(queryType.getShape(), b.getF32Type());
    SmallVector<Value> dynamicSizes;
    if (outType.isDynamicDim(0))
      dynamicSizes.push_back(rows);
    Value out = memref::AllocOp::create(b, loc, outType, dynamicSizes);

    Value tileSize = arith::ConstantIndexOp::create(b, loc, tile);
    Value tiles = arith::CeilDivUIOp::create(b, loc, rows, tileSize);
    Value headCount = arith::ConstantIndexOp::create(b, loc, kernel.heads);
    auto launch = gpu::LaunchOp::create(
        b, loc, tiles, headCount, one, tileSize, one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, /*workgroupAttributions=*/{},
        /*privateAttributions=*/{}, nullptr, nullptr, nullptr,
        FlatSymbolRefAttr::get(b.getContext(), kKernelName),
        FlatSymbolRefAttr::get(b.getContext(), kKernelName));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&launch.getBody().front());
      Value t = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, launch.getBlockIds().x, tileSize),
          launch.getThreadIds().x);
      Value inRange =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, t, rows);
      scf::IfOp::create(b, loc, inRange, [&](OpBuilder &b, Location loc) {
        buildRow(b, loc, kernel, q, keys, values, out, start, t,
                 launch.getBlockIds().y);
        scf::YieldOp::create(b, loc);
      });
      gpu::TerminatorOp::create(b, loc);
    }
    b.replaceOpWithNewOp<bufferization::ToTensorOp>(
        op, queryType, out, /*restrict=*/true, /*writable=*/true);
    return success();
  }

  int64_t tile, maxQueryRegisters;
};

struct LowerAttentionPass
    : matc::cuda::impl::LowerAttentionBase<LowerAttentionPass> {
  using LowerAttentionBase::LowerAttentionBase;
  void runOnOperation() override {
    if (queryTile <= 0 || queryTile > 1024) {
      getOperation()->emitError()
          << "matc-cuda-lower-attention: query-tile must be in [1, 1024], got "
          << static_cast<int64_t>(queryTile);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerCausalAttention>(&getContext(), queryTile,
                                       maxQueryRegisters);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation()->walk([](CausalAttentionOp op) {
      op.emitOpError("could not be lowered for the GPU: only the token "
                     "dimension may be dynamic");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
