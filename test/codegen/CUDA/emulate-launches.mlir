// RUN: matc-opt %s -split-input-file -verify-diagnostics --matc-cuda-emulate-launches | FileCheck %s

// A launch becomes six serial loops (grid x, y, z, block x, y, z) running
// the body with the ids as induction variables and the sizes as bounds.
// CHECK-LABEL: func.func @serial(
// CHECK-SAME: %[[BUF:[a-z0-9]+]]: memref<?x?xf32>, %[[GX:[a-z0-9]+]]: index, %[[BX:[a-z0-9]+]]: index
// CHECK-NOT: gpu.launch
// CHECK: scf.for %[[B:[a-z0-9]+]] = %c0 to %[[GX]] step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c1
// CHECK: scf.for %{{.*}} = %c0 to %c1
// CHECK: scf.for %[[T:[a-z0-9]+]] = %c0 to %[[BX]] step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c1
// CHECK: scf.for %{{.*}} = %c0 to %c1
// CHECK: %[[V:.*]] = arith.index_cast %[[BX]] : index to i64
// CHECK: %[[F:.*]] = arith.sitofp %[[V]]
// CHECK: memref.store %[[F]], %[[BUF]][%[[B]], %[[T]]]
func.func @serial(%buf: memref<?x?xf32>, %gx: index, %bx: index) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%b, %by, %bz) in (%sgx = %gx, %sgy = %c1, %sgz = %c1) threads(%t, %ty, %tz) in (%sbx = %bx, %sby = %c1, %sbz = %c1) {
    %v = arith.index_cast %sbx : index to i64
    %f = arith.sitofp %v : i64 to f32
    memref.store %f, %buf[%b, %t] : memref<?x?xf32>
    gpu.terminator
  }
  return
}

// -----

// Threads that synchronize cannot run one after another.
func.func @barrier(%n: index) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'gpu.launch' op synchronizes or communicates between threads}}
  gpu.launch blocks(%b, %by, %bz) in (%sgx = %n, %sgy = %c1, %sgz = %c1) threads(%t, %ty, %tz) in (%sbx = %n, %sby = %c1, %sbz = %c1) {
    gpu.barrier
    gpu.terminator
  }
  return
}
