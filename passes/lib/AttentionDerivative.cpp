//===- AttentionDerivative.cpp - the backward of matformer.attention ------===//
//
// The forward's projections, RoPE and core output are recomputed from the
// op's operands (the op's internals are not kept), then, with flat = the
// core's output as [T, heads*headDim]:
//   d flat = dy wo              d wo = dy^T flat
//   dq', dk', dv = matformer.causal_attention_grad (the core's backward,
//                  grouped-query heads summed into their KV head)
//   dq = RoPE^-1(dq'), dk = RoPE^-1(dk')   (rotation by -angle)
//   d wq = dq^T x, d wk = dk^T x, d wv = dv^T x
//   dx = dq wq + dk wk + dv wv
// Training runs from position 0 without a KV cache.
//
//===----------------------------------------------------------------------===//
#include "LowerAttention.h"
#include "OpDerivatives.h"
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace matc::matformer;

/// [T, heads, headDim] -> [T, heads*headDim].
static Value mergeHeads(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  auto flatType = RankedTensorType::get(
      {type.getDimSize(0), type.getDimSize(1) * type.getDimSize(2)},
      type.getElementType());
  return tensor::CollapseShapeOp::create(
      b, loc, flatType, x, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
}

/// Permutes a rank-3 tensor: result dim i is input dim permutation[i].
static Value transpose3(OpBuilder &b, Location loc, Value x,
                        ArrayRef<int64_t> permutation) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t d : permutation)
    sizes.push_back(matc::dimSize(b, loc, x, d));
  Value init = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  return linalg::TransposeOp::create(b, loc, x, init, permutation).getResult()[0];
}

LogicalResult matc::buildAttentionGradients(OpBuilder &b, AttentionOp op,
                                            Value dy,
                                            SmallVectorImpl<Value> &gradients) {
  if (op.hasKvCache())
    return op.emitOpError() << "with a KV cache cannot be differentiated: "
                               "training runs whole sequences from position 0";
  Location loc = op.getLoc();
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
          headDim = op.getHeadDim();
  double theta = op.getRopeTheta().convertToDouble();
  Value x = op.getInput(), wq = op.getWq(), wk = op.getWk(), wv = op.getWv(),
        wo = op.getWo();
  Value start = arith::ConstantIndexOp::create(b, loc, 0);

  Value q = applyRope(b, loc,
                      splitHeads(b, loc, matmulTransposedB(b, loc, x, wq), heads, headDim),
                      start, theta);
  Value k = applyRope(
      b, loc, splitHeads(b, loc, matmulTransposedB(b, loc, x, wk), kvHeads, headDim),
      start, theta);
  Value v = splitHeads(b, loc, matmulTransposedB(b, loc, x, wv), kvHeads, headDim);
  Value vColumns = transpose3(b, loc, v, {1, 2, 0});
  FloatAttr scale = b.getF64FloatAttr(1.0 / std::sqrt(static_cast<double>(headDim)));
  Value core = CausalAttentionOp::create(b, loc, q.getType(), q, k, vColumns,
                                         Value(), scale);
  Value flat = mergeHeads(b, loc, core);

  Value dFlat = matmul(b, loc, dy, wo);
  Value dWo = matmulTransposedA(b, loc, dy, flat);
  Value dCore = splitHeads(b, loc, dFlat, heads, headDim);
  auto coreGrad = CausalAttentionGradOp::create(
      b, loc, TypeRange{q.getType(), k.getType(), vColumns.getType()}, q, k,
      vColumns, dCore, Value(), scale);
  Value dq = mergeHeads(b, loc, applyRope(b, loc, coreGrad.getQueryGrad(), start,
                                          theta, /*inverse=*/true));
  Value dk = mergeHeads(b, loc, applyRope(b, loc, coreGrad.getKeysGrad(), start,
                                          theta, /*inverse=*/true));
  Value dv = mergeHeads(b, loc, transpose3(b, loc, coreGrad.getValuesGrad(), {2, 0, 1}));

  Value dx = addTensors(b, loc,
                        addTensors(b, loc, matmul(b, loc, dq, wq), matmul(b, loc, dk, wk)),
                        matmul(b, loc, dv, wv));
  auto inputType = cast<RankedTensorType>(x.getType());
  if (dx.getType() != inputType)
    dx = tensor::CastOp::create(b, loc, inputType, dx);
  gradients.append({dx, matmulTransposedA(b, loc, dq, x),
                    matmulTransposedA(b, loc, dk, x),
                    matmulTransposedA(b, loc, dv, x), dWo});
  return success();
}
