//===- BindTrainingAbi.cpp - the training entry points ---------------------===//
//
// Builds the generated halves of matc_model_train_step,
// matc_model_grad_squared_norm and matc_model_adamw_step
// (matc/abi/ModelAbi.h) from the differentiated training losses: the train
// step calls the gradient function of every granularity whose loss weight
// is not zero and adds its scaled gradients into the runtime's tables; the
// norm and AdamW are elementwise loops over every weight.
//
//===----------------------------------------------------------------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/LinalgBuilders.h"
#include "matc/Passes/Passes.h"
#include "matc/abi/ModelAbi.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringSet.h"

namespace matc {
#define GEN_PASS_DEF_BINDTRAININGABI
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;
namespace abi = matc::abi;

namespace {

/// A weight of the model: its checkpoint name and memref type.
struct WeightSlot {
  StringAttr name;
  MemRefType type;
};

/// The weights of @matc_forward_impl, in its (the manifest's) order.
SmallVector<WeightSlot> modelWeights(func::FuncOp forward) {
  SmallVector<WeightSlot> weights;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    if (auto name = forward.getArgAttrOfType<StringAttr>(i, kWeightAttrName))
      weights.push_back({name, cast<MemRefType>(forward.getArgumentTypes()[i])});
  return weights;
}

/// Builds an entry's signature from an abi::Arg table: scalars and buffers
/// tagged with their names, each table as one memref per weight tagged with
/// the weight's name (and the table's, except for the weights themselves).
func::FuncOp createEntry(OpBuilder &b, Location loc, StringRef name,
                         ArrayRef<abi::Arg> signature,
                         const llvm::StringMap<Type> &buffers,
                         ArrayRef<WeightSlot> weights) {
  MLIRContext *context = b.getContext();
  SmallVector<Type> types;
  SmallVector<DictionaryAttr> attrs;
  for (const abi::Arg &arg : signature) {
    if (arg.kind == abi::ArgKind::WeightTable) {
      for (const WeightSlot &weight : weights) {
        types.push_back(weight.type);
        SmallVector<NamedAttribute> tags = {b.getNamedAttr(kWeightAttrName, weight.name)};
        if (StringRef(arg.name) != "weights")
          tags.push_back(b.getNamedAttr(kAbiArgAttrName, b.getStringAttr(arg.name)));
        attrs.push_back(DictionaryAttr::get(context, tags));
      }
      continue;
    }
    types.push_back(arg.kind == abi::ArgKind::Index ? b.getIndexType()
                                                    : buffers.lookup(arg.name));
    attrs.push_back(DictionaryAttr::get(
        context, {b.getNamedAttr(kAbiArgAttrName, b.getStringAttr(arg.name))}));
  }
  auto entry = func::FuncOp::create(b, loc, name, b.getFunctionType(types, {}));
  entry.setAllArgAttrs(attrs);
  entry.addEntryBlock();
  return entry;
}

/// The arguments of `entry` that belong to table `table`, by weight name.
llvm::StringMap<Value> tableArguments(func::FuncOp entry, StringRef table) {
  llvm::StringMap<Value> found;
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    auto weight = entry.getArgAttrOfType<StringAttr>(i, kWeightAttrName);
    if (!weight)
      continue;
    auto role = entry.getArgAttrOfType<StringAttr>(i, kAbiArgAttrName);
    if ((role ? role.getValue() : StringRef("weights")) == table)
      found[weight.getValue()] = entry.getArgument(i);
  }
  return found;
}

/// The argument tagged `matformer.abi_arg = name`.
Value namedArgument(func::FuncOp entry, StringRef name) {
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    if (auto role = entry.getArgAttrOfType<StringAttr>(i, kAbiArgAttrName);
        role && role.getValue() == name && !entry.getArgAttr(i, kWeightAttrName))
      return entry.getArgument(i);
  return nullptr;
}

Value readOnlyTensor(OpBuilder &b, Location loc, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  return bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(type.getShape(), type.getElementType()),
      memref, /*restrict=*/true, /*writable=*/false);
}

/// losses[i] = L_i and grads += loss_weights[i] * dL_i/dw, for every
/// granularity i whose loss weight is not zero.
void buildTrainStep(OpBuilder &b, func::FuncOp entry,
                    ArrayRef<func::FuncOp> gradientFunctions) {
  Location loc = entry.getLoc();
  b.setInsertionPointToStart(&entry.getBody().front());
  Value seqLen = namedArgument(entry, "seq_len");
  Value length = arith::AddIOp::create(b, loc, seqLen,
                                       arith::ConstantIndexOp::create(b, loc, 1));
  Value tokens = readOnlyTensor(
      b, loc,
      memref::SubViewOp::create(b, loc, namedArgument(entry, "tokens"),
                                {OpFoldResult(b.getIndexAttr(0))},
                                {OpFoldResult(length)},
                                {OpFoldResult(b.getIndexAttr(1))}));
  llvm::StringMap<Value> weights = tableArguments(entry, "weights");
  llvm::StringMap<Value> grads = tableArguments(entry, "grads");
  llvm::StringMap<Value> weightTensors;
  for (auto &weight : weights)
    weightTensors[weight.getKey()] = readOnlyTensor(b, loc, weight.getValue());
  Value lossWeights = namedArgument(entry, "loss_weights"),
        losses = namedArgument(entry, "losses");
  Value zero = matc::constantF32(b, loc, 0.0);
  for (func::FuncOp function : gradientFunctions) {
    auto index = function->getAttrOfType<IntegerAttr>(kGranularityAttrName).getInt();
    Value slot = arith::ConstantIndexOp::create(b, loc, index);
    Value lambda = memref::LoadOp::create(b, loc, lossWeights, slot);
    Value active = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, lambda, zero);
    auto branch = scf::IfOp::create(b, loc, TypeRange(), active,
                                    /*addThenBlock=*/true, /*addElseBlock=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(branch.thenBlock());
    SmallVector<Value> operands = {tokens};
    SmallVector<StringAttr> names;
    for (unsigned i = 1; i < function.getNumArguments(); ++i) {
      auto name = function.getArgAttrOfType<StringAttr>(i, kWeightAttrName);
      names.push_back(name);
      operands.push_back(weightTensors.lookup(name.getValue()));
    }
    auto call = func::CallOp::create(b, loc, function, operands);
    Value loss = tensor::ExtractOp::create(b, loc, call.getResult(0), ValueRange{});
    memref::StoreOp::create(b, loc, loss, losses, slot);
    for (auto [i, name] : llvm::enumerate(names)) {
      Value gradient = call.getResult(i + 1);
      Value table = grads.lookup(name.getValue());
      Value current = readOnlyTensor(b, loc, table);
      Value sum = matc::mapElements(
          b, loc, current, {current, gradient},
          [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
            return arith::AddFOp::create(
                nb, nl, args[0], arith::MulFOp::create(nb, nl, lambda, args[1]));
          });
      bufferization::MaterializeInDestinationOp::create(
          b, loc, TypeRange(), sum, table, /*restrict=*/true, /*writable=*/true);
    }
    if (branch.thenBlock()->empty() ||
        !branch.thenBlock()->back().hasTrait<OpTrait::IsTerminator>())
      scf::YieldOp::create(b, loc);
  }
  func::ReturnOp::create(b, loc);
}

/// result[0] = the sum of the squares of every gradient element.
void buildGradSquaredNorm(OpBuilder &b, func::FuncOp entry) {
  Location loc = entry.getLoc();
  b.setInsertionPointToStart(&entry.getBody().front());
  Value total = matc::constantF32(b, loc, 0.0);
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    if (!entry.getArgAttr(i, kWeightAttrName))
      continue;
    Value gradient = readOnlyTensor(b, loc, entry.getArgument(i));
    auto type = cast<RankedTensorType>(gradient.getType());
    SmallVector<AffineExpr> dims;
    for (int64_t d = 0; d < type.getRank(); ++d)
      dims.push_back(b.getAffineDimExpr(d));
    Value sum = matc::buildGeneric(
        b, loc, {gradient}, {dims}, {}, {},
        SmallVector<utils::IteratorType>(type.getRank(), utils::IteratorType::reduction),
        0.0, [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          return arith::AddFOp::create(
              nb, nl, args[1], arith::MulFOp::create(nb, nl, args[0], args[0]));
        });
    total = arith::AddFOp::create(b, loc, total,
                                  tensor::ExtractOp::create(b, loc, sum, ValueRange{}));
  }
  memref::StoreOp::create(b, loc, total, namedArgument(entry, "result"),
                          ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
  func::ReturnOp::create(b, loc);
}

/// One AdamW step over every weight, in place on weights, m and v
/// (matc/abi/ModelAbi.h gives the formula).
void buildAdamWStep(OpBuilder &b, func::FuncOp entry, ArrayRef<WeightSlot> weights) {
  Location loc = entry.getLoc();
  b.setInsertionPointToStart(&entry.getBody().front());
  Value hyper = namedArgument(entry, "hyper"), decay = namedArgument(entry, "decay");
  auto load = [&](Value memref, int64_t index) -> Value {
    return memref::LoadOp::create(
        b, loc, memref, ValueRange{arith::ConstantIndexOp::create(b, loc, index)});
  };
  Value lr = load(hyper, abi::kAdamLearningRate), beta1 = load(hyper, abi::kAdamBeta1),
        beta2 = load(hyper, abi::kAdamBeta2), eps = load(hyper, abi::kAdamEpsilon),
        weightDecay = load(hyper, abi::kAdamWeightDecay),
        correction1 = load(hyper, abi::kAdamBiasCorrection1),
        correction2 = load(hyper, abi::kAdamBiasCorrection2),
        gradScale = load(hyper, abi::kAdamGradScale);
  Value one = matc::constantF32(b, loc, 1.0);
  Value oneMinusBeta1 = arith::SubFOp::create(b, loc, one, beta1);
  Value oneMinusBeta2 = arith::SubFOp::create(b, loc, one, beta2);
  llvm::StringMap<Value> w = tableArguments(entry, "weights"),
                         g = tableArguments(entry, "grads"),
                         m = tableArguments(entry, "m"), v = tableArguments(entry, "v");
  for (auto [i, weight] : llvm::enumerate(weights)) {
    StringRef name = weight.name.getValue();
    Value decayed = arith::MulFOp::create(
        b, loc, weightDecay, load(decay, static_cast<int64_t>(i)));
    int64_t rank = weight.type.getRank();
    SmallVector<AffineMap> maps(4, b.getMultiDimIdentityMap(rank));
    linalg::GenericOp::create(
        b, loc, TypeRange(), ValueRange{g.lookup(name)},
        ValueRange{w.lookup(name), m.lookup(name), v.lookup(name)}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          auto mul = [&](Value x, Value y) -> Value {
            return arith::MulFOp::create(nb, nl, x, y);
          };
          auto add = [&](Value x, Value y) -> Value {
            return arith::AddFOp::create(nb, nl, x, y);
          };
          Value grad = mul(args[0], gradScale);
          Value param = args[1];
          Value mNew = add(mul(beta1, args[2]), mul(oneMinusBeta1, grad));
          Value vNew = add(mul(beta2, args[3]), mul(oneMinusBeta2, mul(grad, grad)));
          Value mHat = arith::DivFOp::create(nb, nl, mNew, correction1);
          Value vHat = arith::DivFOp::create(nb, nl, vNew, correction2);
          Value denominator = add(math::SqrtOp::create(nb, nl, vHat), eps);
          Value update = add(arith::DivFOp::create(nb, nl, mHat, denominator),
                             mul(decayed, param));
          Value paramNew = arith::SubFOp::create(nb, nl, param, mul(lr, update));
          linalg::YieldOp::create(nb, nl, ValueRange{paramNew, mNew, vNew});
        });
  }
  func::ReturnOp::create(b, loc);
}

struct BindTrainingAbiPass
    : matc::impl::BindTrainingAbiBase<BindTrainingAbiPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> gradientFunctions;
    for (func::FuncOp function : module.getOps<func::FuncOp>())
      if (function->hasAttr(kGradientsAttrName))
        gradientFunctions.push_back(function);
    if (gradientFunctions.empty())
      return; // not a training build
    auto forward = module.lookupSymbol<func::FuncOp>("matc_forward_impl");
    if (!forward) {
      module.emitError() << "expected @matc_forward_impl (from "
                            "matformer-bind-runtime-abi) to read the weights from";
      return signalPassFailure();
    }
    auto positions = module->getAttrOfType<IntegerAttr>(kMaxPositionsAttrName);
    SmallVector<WeightSlot> weights = modelWeights(forward);
    llvm::StringSet<> known;
    for (const WeightSlot &weight : weights)
      known.insert(weight.name.getValue());
    int64_t count = static_cast<int64_t>(gradientFunctions.size());
    for (func::FuncOp function : gradientFunctions) {
      auto index = function->getAttrOfType<IntegerAttr>(kGranularityAttrName);
      if (!index || index.getInt() >= count) {
        function.emitOpError() << "needs " << kGranularityAttrName
                               << " in [0, " << count << ")";
        return signalPassFailure();
      }
      for (unsigned i = 1; i < function.getNumArguments(); ++i) {
        auto name = function.getArgAttrOfType<StringAttr>(i, kWeightAttrName);
        if (!name || !known.contains(name.getValue())) {
          function.emitOpError() << "argument " << i
                                 << " is not a weight of @matc_forward_impl";
          return signalPassFailure();
        }
      }
    }
    llvm::sort(gradientFunctions, [](func::FuncOp a, func::FuncOp b) {
      return a->getAttrOfType<IntegerAttr>(kGranularityAttrName).getInt() <
             b->getAttrOfType<IntegerAttr>(kGranularityAttrName).getInt();
    });

    OpBuilder b(forward);
    Type f32 = b.getF32Type();
    int64_t numWeights = static_cast<int64_t>(weights.size());
    llvm::StringMap<Type> buffers = {
        {"tokens", MemRefType::get({positions.getInt() + 1}, b.getI32Type())},
        {"loss_weights", MemRefType::get({count}, f32)},
        {"losses", MemRefType::get({count}, f32)},
        {"result", MemRefType::get({1}, f32)},
        {"hyper", MemRefType::get({abi::kNumAdamWHyper}, f32)},
        {"decay", MemRefType::get({numWeights}, f32)}};
    Location loc = forward.getLoc();
    func::FuncOp step = createEntry(b, loc, "matc_train_step_impl",
                                    abi::kTrainStepArgs, buffers, weights);
    b.setInsertionPointAfter(step);
    func::FuncOp norm = createEntry(b, loc, "matc_grad_squared_norm_impl",
                                    abi::kGradSquaredNormArgs, buffers, weights);
    b.setInsertionPointAfter(norm);
    func::FuncOp adamw = createEntry(b, loc, "matc_adamw_step_impl",
                                     abi::kAdamWStepArgs, buffers, weights);
    buildTrainStep(b, step, gradientFunctions);
    buildGradSquaredNorm(b, norm);
    buildAdamWStep(b, adamw, weights);
  }
};

} // namespace
