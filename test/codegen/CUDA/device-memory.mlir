// RUN: matc-opt %s -split-input-file -verify-diagnostics --matc-cuda-device-memory | FileCheck %s

// A buffer only kernels touch becomes device memory: gpu.alloc and
// gpu.dealloc, each a synchronous stream step. The entry's layer_widths,
// read by host code, and a buffer host code writes stay host memory.
// CHECK-LABEL: func.func @entry(
// CHECK-SAME: %[[N:[a-z0-9]+]]: index, %[[WIDTHS:[a-z0-9]+]]: memref<4xi64>
// CHECK: %[[W:.*]] = memref.load %[[WIDTHS]]
// CHECK: %[[READY:.*]] = gpu.wait async
// CHECK: %[[BUF:.*]], %[[DONE:.*]] = gpu.alloc async [%[[READY]]] (%[[N]]) : memref<?xf32>
// CHECK: gpu.wait [%[[DONE]]]
// CHECK: %[[FLAGS:.*]] = memref.alloc() : memref<2xi1>
// CHECK: memref.store %{{.*}}, %[[FLAGS]]
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[BUF]]
// CHECK: %[[READY2:.*]] = gpu.wait async
// CHECK: %[[FREED:.*]] = gpu.dealloc async [%[[READY2]]] %[[BUF]] : memref<?xf32>
// CHECK: gpu.wait [%[[FREED]]]
// CHECK: memref.dealloc %[[FLAGS]] : memref<2xi1>
func.func @entry(%n: index, %widths: memref<4xi64> {matformer.abi_arg = "layer_widths"}) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %true = arith.constant true
  %w = memref.load %widths[%c0] : memref<4xi64>
  %buf = memref.alloc(%n) {alignment = 64 : i64} : memref<?xf32>
  %flags = memref.alloc() : memref<2xi1>
  memref.store %true, %flags[%c0] : memref<2xi1>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %f = arith.constant 1.0 : f32
    memref.store %f, %buf[%bx] : memref<?xf32>
    gpu.terminator
  }
  memref.dealloc %buf : memref<?xf32>
  memref.dealloc %flags : memref<2xi1>
  return %w : i64
}

// -----

// A private function's argument is host memory when every call passes host
// memory (buffer deallocation's helper); then its caller's buffer stays on
// the host too.
// CHECK-LABEL: func.func @caller(
// CHECK: %[[HOST:.*]] = memref.alloc() : memref<3xindex>
// CHECK-NOT: gpu.alloc
// CHECK: call @helper
func.func private @helper(%list: memref<?xindex>) {
  %c0 = arith.constant 0 : index
  %c7 = arith.constant 7 : index
  memref.store %c7, %list[%c0] : memref<?xindex>
  return
}
func.func @caller() {
  %list = memref.alloc() : memref<3xindex>
  %cast = memref.cast %list : memref<3xindex> to memref<?xindex>
  call @helper(%cast) : (memref<?xindex>) -> ()
  memref.dealloc %list : memref<3xindex>
  return
}

// -----

// A buffer that a kernel writes and host code reads (through a view) has no
// side to live on.
func.func @host_read(%n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'memref.alloc' op is read or written both by host code and by a kernel}}
  %buf = memref.alloc(%n) : memref<?xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %f = arith.constant 1.0 : f32
    memref.store %f, %buf[%bx] : memref<?xf32>
    gpu.terminator
  }
  %subview = memref.subview %buf[1] [2] [1] : memref<?xf32> to memref<2xf32, strided<[1], offset: 1>>
  %v = memref.load %subview[%c0] : memref<2xf32, strided<[1], offset: 1>>
  return %v : f32
}

// -----

// Any argument but layer_widths of the entry is device memory.
func.func @entry_logits(%logits: memref<4xf32> {matformer.abi_arg = "logits"}) {
  %c0 = arith.constant 0 : index
  %f = arith.constant 0.0 : f32
  // expected-error @+1 {{'memref.store' op reads or writes a device buffer in host code}}
  memref.store %f, %logits[%c0] : memref<4xf32>
  return
}
