#ifndef MATC_DIALECT_DERIVATIVEINTERFACE_TD
#define MATC_DIALECT_DERIVATIVEINTERFACE_TD

include "mlir/IR/OpBase.td"

def MatFormer_DifferentiableOpInterface
    : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::matc::matformer";
  let description = [{
    An op whose reverse-mode derivative is known: given the gradients of the
    loss with respect to its results, it builds the gradients with respect
    to its operands, as new ops at the builder's insertion point (after the
    whole forward, so every forward value may be used: the forward's values
    are kept for the backward). `matformer-reverse-mode` only walks a
    function backwards and calls this; it knows no op.

    The models live beside the lowering they mirror
    (passes/lib/Derivatives/, attached by
    `matc::registerDerivativeInterfaceModels`), since they emit linalg,
    tensor and arith on tensors with the middle's builders.
  }];
  let methods = [
    InterfaceMethod<[{
        Appends one gradient per operand to `operandGradients`, in operand
        order: the gradient of the loss with respect to that operand, with
        the operand's type, or a null Value where the operand is not
        differentiable (token ids, widths, start positions) or gets none.
        `resultGradients` has one value per result, with the result's type
        (zeros where the loss does not depend on a result).
      }],
      "::mlir::LogicalResult", "buildOperandGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGradients,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGradients)>,
  ];
}

#endif
