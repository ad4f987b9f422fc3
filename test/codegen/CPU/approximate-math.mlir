// RUN: matc-opt %s --matc-cpu-approximate-math | FileCheck %s

// exp and tanh become polynomials (FMAs, no libm call); rsqrt stays exact.
// CHECK-LABEL: func.func @activations(
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK: math.fma
// CHECK: math.rsqrt
func.func @activations(%x: f32) -> (f32, f32, f32) {
  %e = math.exp %x : f32
  %t = math.tanh %x : f32
  %r = math.rsqrt %x : f32
  return %e, %t, %r : f32, f32, f32
}
