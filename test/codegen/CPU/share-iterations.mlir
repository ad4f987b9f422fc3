// RUN: matc-opt %s -split-input-file --matc-cpu-share-iterations | FileCheck %s
// RUN: matc-opt %s -split-input-file --matc-cpu-share-iterations | matc-opt -split-input-file | FileCheck %s --check-prefix=ROUND

// ROUND-LABEL: func.func @one_loop_keeps_its_barrier
// ROUND: omp.barrier

// A static loop becomes an scf.for over the thread's share, the thread
// number and team size asked for once at the top of the region: with T
// iterations on N threads, begin = t * (T / N) + min(t, T mod N) and one
// more iteration for t < T mod N. The loop iterates the induction variable
// itself (lower bound + share * step). Without `nowait` a barrier follows.
// CHECK-DAG: func.func private @__kmpc_bound_thread_num(!llvm.ptr) -> i32
// CHECK-DAG: func.func private @__kmpc_bound_num_threads(!llvm.ptr) -> i32
// CHECK-LABEL: func.func @one_loop_keeps_its_barrier
// CHECK-SAME: (%[[X:.*]]: memref<?xf32>, %[[LO:.*]]: index, %[[HI:.*]]: index, %[[STEP:.*]]: index)
// CHECK: omp.parallel {
// CHECK-NEXT: %[[NOLOC:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-NEXT: %[[T32:.*]] = func.call @__kmpc_bound_thread_num(%[[NOLOC]]) : (!llvm.ptr) -> i32
// CHECK-NEXT: %[[T:.*]] = arith.index_cast %[[T32]] : i32 to index
// CHECK-NEXT: %[[N32:.*]] = func.call @__kmpc_bound_num_threads(%[[NOLOC]]) : (!llvm.ptr) -> i32
// CHECK-NEXT: %[[N:.*]] = arith.index_cast %[[N32]] : i32 to index
// CHECK: %[[SPAN:.*]] = arith.subi %[[HI]], %[[LO]]
// CHECK: %[[POS:.*]] = arith.maxsi %[[SPAN]]
// CHECK: %[[TRIP:.*]] = arith.ceildivsi %[[POS]], %[[STEP]]
// CHECK: %[[Q:.*]] = arith.divui %[[TRIP]], %[[N]]
// CHECK: %[[R:.*]] = arith.remui %[[TRIP]], %[[N]]
// CHECK: %[[MIN:.*]] = arith.minui %[[T]], %[[R]]
// CHECK: %[[TQ:.*]] = arith.muli %[[T]], %[[Q]]
// CHECK: %[[BEGIN:.*]] = arith.addi %[[TQ]], %[[MIN]]
// CHECK: %[[LT:.*]] = arith.cmpi ult, %[[T]], %[[R]]
// CHECK: %[[EXTRA:.*]] = arith.select %[[LT]]
// CHECK: %[[SIZE:.*]] = arith.addi %[[Q]], %[[EXTRA]]
// CHECK: %[[END:.*]] = arith.addi %[[BEGIN]], %[[SIZE]]
// CHECK: %[[B1:.*]] = arith.muli %[[BEGIN]], %[[STEP]]
// CHECK: %[[FROM:.*]] = arith.addi %[[LO]], %[[B1]]
// CHECK: %[[E1:.*]] = arith.muli %[[END]], %[[STEP]]
// CHECK: %[[TO:.*]] = arith.addi %[[LO]], %[[E1]]
// CHECK: scf.for %[[I:.*]] = %[[FROM]] to %[[TO]] step %[[STEP]] {
// CHECK-NEXT: memref.store %{{.*}}, %[[X]][%[[I]]]
// CHECK-NEXT: }
// CHECK-NEXT: omp.barrier
// CHECK-NEXT: omp.terminator
// CHECK-NOT: omp.wsloop
func.func @one_loop_keeps_its_barrier(%x: memref<?xf32>, %lo: index, %hi: index, %step: index) {
  %cst = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%lo) to (%hi) step (%step) {
        memref.store %cst, %x[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// A collapsed nest iterates its linear index: the outermost variable is
// recovered by a division, the inner ones by a remainder too. `nowait`
// loops get no barrier; two loops in one region ask for the team once.
// CHECK-LABEL: func.func @collapsed_nest_and_nowait
// CHECK: omp.parallel {
// CHECK-COUNT-2: func.call @__kmpc_bound_
// CHECK-NOT: func.call @__kmpc_bound_
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step %c1{{.*}} {
// CHECK-NEXT: %[[JI:.*]] = arith.remui %[[L]], %[[TRIPJ:.*]] : index
// CHECK-NEXT: %[[REST:.*]] = arith.divui %[[L]], %[[TRIPJ]] : index
// CHECK-NEXT: %[[JS:.*]] = arith.muli %[[JI]], %c2
// CHECK-NEXT: %[[J:.*]] = arith.addi %c1{{.*}}, %[[JS]]
// CHECK-NEXT: %[[IS:.*]] = arith.muli %[[REST]], %c3
// CHECK-NEXT: %[[I:.*]] = arith.addi %c0{{.*}}, %[[IS]]
// CHECK-NEXT: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
// CHECK-NEXT: }
// CHECK-NOT: omp.barrier
// CHECK: scf.for
// CHECK: memref.store
// CHECK: }
// CHECK-NEXT: omp.terminator
func.func @collapsed_nest_and_nowait(%x: memref<?x?xf32>, %m: index, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %cst = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop nowait {
      omp.loop_nest (%i, %j) : index = (%c0, %c1) to (%m, %n) step (%c3, %c2) collapse(2) {
        memref.store %cst, %x[%i, %j] : memref<?x?xf32>
        omp.yield
      }
    }
    omp.wsloop nowait {
      omp.loop_nest (%i) : index = (%c0) to (%m) step (%c1) {
        memref.store %cst, %x[%i, %c0] : memref<?x?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// A loop inside an scf.if or scf.for of the region uses the values asked
// for at the top of the region.
// CHECK-LABEL: func.func @nested_in_control_flow
// CHECK: omp.parallel {
// CHECK-NEXT: llvm.mlir.zero
// CHECK-NEXT: %[[T32:.*]] = func.call @__kmpc_bound_thread_num(
// CHECK-NEXT: %[[T:.*]] = arith.index_cast %[[T32]]
// CHECK: scf.if
// CHECK: arith.minui %[[T]]
// CHECK: scf.for
// CHECK: omp.barrier
func.func @nested_in_control_flow(%x: memref<?xf32>, %n: index, %c: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 1.0 : f32
  omp.parallel {
    scf.if %c {
      omp.wsloop {
        omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
          memref.store %cst, %x[%i] : memref<?xf32>
          omp.yield
        }
      }
    }
    omp.terminator
  }
  return
}

// -----

// A dynamic loop takes one iteration at a time from a counter: a stack
// slot of the function, zeroed just before the region, one atomic add per
// iteration taken. No thread number is needed. The body's alloca scope
// (the packed kernels' panel buffers) becomes a stack save and restore.
// CHECK-LABEL: func.func @dynamic_loop
// CHECK-SAME: (%[[X:.*]]: memref<?x?xf32>, %[[M:.*]]: index, %[[N:.*]]: index)
// CHECK-NEXT: %[[COUNTER:.*]] = memref.alloca() : memref<1xi64>
// CHECK: memref.store %c0_i64, %[[COUNTER]][%c0{{.*}}] : memref<1xi64>
// CHECK-NEXT: omp.parallel {
// CHECK-NOT: func.call
// CHECK: %[[TOTAL:.*]] = arith.muli
// CHECK: %[[TOTAL64:.*]] = arith.index_cast %[[TOTAL]] : index to i64
// CHECK: %[[FIRST:.*]] = memref.atomic_rmw addi %c1_i64, %[[COUNTER]][%{{.*}}] : (i64, memref<1xi64>) -> i64
// CHECK-NEXT: scf.while (%[[K:.*]] = %[[FIRST]]) : (i64) -> i64 {
// CHECK-NEXT: %[[MORE:.*]] = arith.cmpi slt, %[[K]], %[[TOTAL64]] : i64
// CHECK-NEXT: scf.condition(%[[MORE]]) %[[K]] : i64
// CHECK-NEXT: } do {
// CHECK-NEXT: ^bb0(%[[L64:.*]]: i64):
// CHECK-NEXT: %[[L:.*]] = arith.index_cast %[[L64]] : i64 to index
// CHECK-NEXT: arith.remui %[[L]]
// CHECK-NEXT: arith.divui %[[L]]
// CHECK: %[[STACK:.*]] = llvm.intr.stacksave : !llvm.ptr
// CHECK-NEXT: %[[PANEL:.*]] = memref.alloca() : memref<8xf32>
// CHECK-NEXT: memref.store %{{.*}}, %[[PANEL]]
// CHECK-NEXT: llvm.intr.stackrestore %[[STACK]] : !llvm.ptr
// CHECK-NEXT: memref.store
// CHECK-NEXT: %[[NEXT:.*]] = memref.atomic_rmw addi %c1_i64, %[[COUNTER]]
// CHECK-NEXT: scf.yield %[[NEXT]] : i64
// CHECK-NEXT: }
// CHECK-NEXT: omp.barrier
// CHECK-NEXT: omp.terminator
func.func @dynamic_loop(%x: memref<?x?xf32>, %m: index, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop schedule(dynamic) {
      omp.loop_nest (%i, %j) : index = (%c0, %c0) to (%m, %n) step (%c1, %c1) collapse(2) {
        memref.alloca_scope {
          %panel = memref.alloca() : memref<8xf32>
          memref.store %cst, %panel[%c0] : memref<8xf32>
          memref.alloca_scope.return
        }
        memref.store %cst, %x[%i, %j] : memref<?x?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// Left alone: a guided or chunked schedule, a dynamic loop that may run
// more than once in its region (its counter would need a reset), a
// reduction, an inclusive bound, and a loop outside a parallel region. A
// module with no static loop to share gets no declarations.
// CHECK-NOT: __kmpc_bound
// CHECK-LABEL: func.func @left_alone
// CHECK: omp.wsloop schedule(guided)
// CHECK: omp.wsloop schedule(dynamic = %c1
// CHECK: scf.for
// CHECK-NEXT: omp.wsloop schedule(dynamic)
// CHECK: omp.wsloop reduction
// CHECK: omp.loop_nest {{.*}} inclusive
// CHECK: omp.terminator
// CHECK-NEXT: }
// CHECK-NEXT: omp.wsloop {
// CHECK-NOT: scf.while
omp.declare_reduction @add_f32 : f32 init {
^bb0(%a: f32):
  %z = arith.constant 0.0 : f32
  omp.yield(%z : f32)
} combiner {
^bb0(%a: f32, %b: f32):
  %s = arith.addf %a, %b : f32
  omp.yield(%s : f32)
}
func.func @left_alone(%x: memref<?xf32>, %n: index, %acc: !llvm.ptr) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop schedule(guided) {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %cst, %x[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.wsloop schedule(dynamic = %c1 : index) {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %cst, %x[%i] : memref<?xf32>
        omp.yield
      }
    }
    scf.for %k = %c0 to %n step %c1 {
      omp.wsloop schedule(dynamic) {
        omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
          memref.store %cst, %x[%i] : memref<?xf32>
          omp.yield
        }
      }
    }
    omp.wsloop reduction(@add_f32 %acc -> %r : !llvm.ptr) {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        omp.yield
      }
    }
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) inclusive step (%c1) {
        memref.store %cst, %x[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  omp.wsloop {
    omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
      memref.store %cst, %x[%i] : memref<?xf32>
      omp.yield
    }
  }
  return
}
