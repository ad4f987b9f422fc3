// RUN: matc-opt %s -split-input-file -verify-diagnostics --matc-cuda-merge-kernel-modules | FileCheck %s

// Kernels of several modules end in one, matc_kernels; a name clash is
// resolved by renaming, and every launch follows its kernel.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK-NOT: gpu.module @a
// CHECK-NOT: gpu.module @b
// CHECK: gpu.module @matc_kernels {
// CHECK-DAG: gpu.func @k() kernel
// CHECK-DAG: gpu.func @[[RENAMED:k_[0-9]+]]() kernel
// CHECK-DAG: gpu.func @other() kernel
// CHECK: func.func @host(
// CHECK: gpu.launch_func @matc_kernels::@k
// CHECK: gpu.launch_func @matc_kernels::@[[RENAMED]]
// CHECK: gpu.launch_func @matc_kernels::@other
module attributes {gpu.container_module} {
  gpu.module @a {
    gpu.func @k() kernel { gpu.return }
  }
  gpu.module @b {
    gpu.func @k() kernel { gpu.return }
    gpu.func @other() kernel { gpu.return }
  }
  func.func @host(%n: index) {
    gpu.launch_func @a::@k blocks in (%n, %n, %n) threads in (%n, %n, %n)
    gpu.launch_func @b::@k blocks in (%n, %n, %n) threads in (%n, %n, %n)
    gpu.launch_func @b::@other blocks in (%n, %n, %n) threads in (%n, %n, %n)
    return
  }
}

// -----

// Merging comes before a target is attached.
module attributes {gpu.container_module} {
  // expected-error @+1 {{'gpu.module' op is already merged or has targets}}
  gpu.module @a [#nvvm.target<chip = "sm_80">] {
    gpu.func @k() kernel { gpu.return }
  }
}
