// RUN: matc-opt %s -split-input-file --matformer-keep-layer-activations --canonicalize --cse | FileCheck %s
// RUN: matc-opt %s -split-input-file --matformer-keep-layer-activations --canonicalize --cse --mlir-print-op-generic | matc-opt --split-input-file | FileCheck %s

// A forward and a backward that recomputes part of it: the backward's
// primal part (exp(x), exp(x) * w) moves into @layer_keeping, where CSE
// merges it with the forward's own ops, and @layer_backward_reading takes
// the two values as arguments. The original functions are gone.
// CHECK-LABEL: func.func private @layer_keeping
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>, %[[W:.*]]: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>)
// CHECK: %[[E:.*]] = math.exp %[[X]]
// CHECK-NEXT: %[[Y:.*]] = arith.mulf %[[E]], %[[W]]
// CHECK-NEXT: return %[[Y]], %[[E]], %[[Y]]
// CHECK-NOT: math.exp
// CHECK-LABEL: func.func private @layer_backward_reading
// CHECK-SAME: (%{{.*}}: tensor<?x8xf32>, %[[BW:.*]]: tensor<?x8xf32>, %[[DY:.*]]: tensor<?x8xf32>, %[[KE:.*]]: tensor<?x8xf32>, %[[KY:.*]]: tensor<?x8xf32>)
// CHECK-NOT: math.exp
// CHECK: %[[DX:.*]] = arith.mulf %[[DY]], %[[KY]]
// CHECK: %[[DE:.*]] = arith.mulf %[[DY]], %[[KE]]
// CHECK: return %[[DX]], %[[DE]]
// CHECK-LABEL: func.func @loss
// CHECK-SAME: (%[[LX:.*]]: tensor<?x8xf32>, %[[LW:.*]]: tensor<?x8xf32>)
// CHECK: %[[F:.*]]:3 = call @layer_keeping(%[[LX]], %[[LW]])
// CHECK: %[[D:.*]] = arith.mulf %[[F]]#0, %[[F]]#0
// CHECK: call @layer_backward_reading(%[[LX]], %[[LW]], %[[D]], %[[F]]#1, %[[F]]#2)
// CHECK-NOT: func.func private @layer(
// CHECK-NOT: func.func private @layer_backward(
func.func private @layer(%x: tensor<?x8xf32>, %w: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %e = math.exp %x : tensor<?x8xf32>
  %y = arith.mulf %e, %w : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
func.func private @layer_backward(%x: tensor<?x8xf32>, %w: tensor<?x8xf32>, %dy: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %e = math.exp %x : tensor<?x8xf32>
  %t = arith.mulf %e, %w : tensor<?x8xf32>
  %dx = arith.mulf %dy, %t : tensor<?x8xf32>
  %de = arith.mulf %dy, %e : tensor<?x8xf32>
  return %dx, %de : tensor<?x8xf32>, tensor<?x8xf32>
}
func.func @loss(%x: tensor<?x8xf32>, %w: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %y = call @layer(%x, %w) : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  %d = arith.mulf %y, %y : tensor<?x8xf32>
  %dx, %dw = call @layer_backward(%x, %w, %d) : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>)
  return %dx, %dw : tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// Ops that read no computed data stay in the backward: the view of a
// weight, the zero fill and its empty tensor. A view of a kept value
// (the expand_shape of exp(x)) stays too, and the value it views is kept.
// CHECK-LABEL: func.func private @views_keeping
// CHECK-SAME: -> (tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK: %[[E:.*]] = math.exp
// CHECK-NOT: tensor.extract_slice
// CHECK-NOT: linalg.fill
// CHECK: return %{{.*}}, %[[E]]
// CHECK-LABEL: func.func private @views_backward_reading
// CHECK-SAME: %[[W:[^:]*]]: tensor<8x8xf32>
// CHECK-SAME: %[[KE:[^:]*]]: tensor<4x8xf32>)
// CHECK-NOT: math.exp
// CHECK-DAG: tensor.extract_slice %[[W]][0, 0] [4, 8]
// CHECK-DAG: tensor.expand_shape %[[KE]]
// CHECK-DAG: linalg.fill
func.func private @views(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %e = math.exp %x : tensor<4x8xf32>
  return %e : tensor<4x8xf32>
}
func.func private @views_backward(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %dy: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x2x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = math.exp %x : tensor<4x8xf32>
  %top = tensor.extract_slice %w[0, 0] [4, 8] [1, 1] : tensor<8x8xf32> to tensor<4x8xf32>
  %empty = tensor.empty() : tensor<4x8xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x8xf32>) -> tensor<4x8xf32>
  %a = arith.mulf %dy, %top : tensor<4x8xf32>
  %b = arith.addf %a, %zeros : tensor<4x8xf32>
  %split = tensor.expand_shape %e [[0], [1, 2]] output_shape [4, 2, 4] : tensor<4x8xf32> into tensor<4x2x4xf32>
  %dy3 = tensor.expand_shape %dy [[0], [1, 2]] output_shape [4, 2, 4] : tensor<4x8xf32> into tensor<4x2x4xf32>
  %c = arith.mulf %split, %dy3 : tensor<4x2x4xf32>
  return %b, %zeros, %c : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x2x4xf32>
}
func.func @loss(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x2x4xf32>) {
  %y = call @views(%x, %w) : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %g:3 = call @views_backward(%x, %w, %y) : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x2x4xf32>)
  return %g#0, %g#1, %g#2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x2x4xf32>
}

// -----

// Left alone: a backward whose primal part reads no computed data (nothing
// to keep), a call whose leading operands are not the forward's, public
// functions. A forward also called on its own keeps its plain version.
// CHECK-LABEL: func.func private @plain(
// CHECK-LABEL: func.func private @plain_backward(
// CHECK-LABEL: func.func private @shared_keeping(
// CHECK-LABEL: func.func private @shared(
// CHECK-LABEL: func.func private @shared_backward_reading(
// CHECK-NOT: func.func private @shared_backward(
// CHECK-LABEL: func.func @public(
// CHECK-LABEL: func.func @public_backward(
// CHECK-LABEL: func.func @calls
// CHECK: call @plain(
// CHECK: call @plain_backward(
// CHECK: call @shared_keeping(
// CHECK: call @shared(%[[B:[^,]*]], %[[B]])
// CHECK: call @shared_backward_reading(
// CHECK: call @public(
// CHECK: call @public_backward(
// CHECK-LABEL: func.func @other_operands
// CHECK: call @shared(
// CHECK: call @plain_backward(
func.func private @plain(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = math.exp %x : tensor<8xf32>
  return %e : tensor<8xf32>
}
func.func private @plain_backward(%x: tensor<8xf32>, %dy: tensor<8xf32>) -> tensor<8xf32> {
  %e = math.exp %dy : tensor<8xf32>
  %d = arith.mulf %e, %x : tensor<8xf32>
  return %d : tensor<8xf32>
}
func.func private @shared(%x: tensor<8xf32>, %w: tensor<8xf32>) -> tensor<8xf32> {
  %e = math.exp %x : tensor<8xf32>
  return %e : tensor<8xf32>
}
func.func private @shared_backward(%x: tensor<8xf32>, %w: tensor<8xf32>, %dy: tensor<8xf32>) -> tensor<8xf32> {
  %e = math.exp %x : tensor<8xf32>
  %d = arith.mulf %e, %dy : tensor<8xf32>
  return %d : tensor<8xf32>
}
func.func @public(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = math.exp %x : tensor<8xf32>
  return %e : tensor<8xf32>
}
func.func @public_backward(%x: tensor<8xf32>, %dy: tensor<8xf32>) -> tensor<8xf32> {
  %e = math.exp %x : tensor<8xf32>
  %d = arith.mulf %e, %dy : tensor<8xf32>
  return %d : tensor<8xf32>
}
func.func @calls(%a: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %p = call @plain(%a) : (tensor<8xf32>) -> tensor<8xf32>
  %dp = call @plain_backward(%a, %p) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %s = call @shared(%a, %b) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %alone = call @shared(%b, %b) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %ds = call @shared_backward(%a, %b, %alone) : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %q = call @public(%a) : (tensor<8xf32>) -> tensor<8xf32>
  %dq = call @public_backward(%a, %q) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %dp, %ds, %s, %dq : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}
func.func @other_operands(%a: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<8xf32> {
  %p = call @shared(%a, %b) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %d = call @plain_backward(%b, %p) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %d : tensor<8xf32>
}
