// RUN: matc-opt %s -split-input-file --matc-cpu-merge-parallel-regions | FileCheck %s
// RUN: matc-opt %s -split-input-file --matc-cpu-merge-parallel-regions | matc-opt -split-input-file | FileCheck %s --check-prefix=ROUND

// ROUND-LABEL: func.func @dependent_loops_share_a_team
// ROUND: omp.wsloop nowait

// Two regions apart only by pure ops, an allocation and a deallocation
// become one: the allocation and the pure ops move before it, the
// deallocation after. The second loop reads what the first writes, so the
// first keeps its barrier; the last needs none (the join waits).
// CHECK-LABEL: func.func @dependent_loops_share_a_team
// CHECK-SAME: (%[[X:.*]]: memref<?xf32>, %[[N:.*]]: index)
// CHECK: %[[A:.*]] = memref.alloc(%[[N]])
// CHECK: %[[M:.*]] = arith.addi
// CHECK: %[[B:.*]] = memref.alloc(%[[M]])
// CHECK-NEXT: omp.parallel {
// CHECK-NEXT: omp.wsloop {
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: omp.wsloop nowait {
// CHECK: memref.load %[[A]]
// CHECK: memref.store %{{.*}}, %[[B]]
// CHECK: omp.terminator
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK-NOT: omp.parallel
// CHECK: return
func.func @dependent_loops_share_a_team(%x: memref<?xf32>, %n: index) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.alloc(%n) : memref<?xf32>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %v = memref.load %x[%i] : memref<?xf32>
        memref.store %v, %a[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  %m = arith.addi %n, %c1 : index
  %b = memref.alloc(%m) : memref<?xf32>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %v = memref.load %a[%i] : memref<?xf32>
        memref.store %v, %b[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  memref.dealloc %a : memref<?xf32>
  return %b : memref<?xf32>
}

// -----

// Loops on distinct allocations overlap: the first two (q and k of a
// layer, say) read the same argument and write their own buffers, so the
// first drops its barrier. The third reads both: the second keeps its
// barrier, which also covers the first, still running on some thread
// without it. A loop's own scratch (an alloca inside it) is not shared.
// CHECK-LABEL: func.func @independent_loops_overlap
// CHECK: omp.parallel {
// CHECK-NEXT: omp.wsloop nowait {
// CHECK: memref.alloca
// CHECK: omp.wsloop {
// CHECK: omp.wsloop nowait {
// CHECK: omp.terminator
func.func @independent_loops_overlap(%x: memref<?xf32>, %n: index, %q: memref<?xf32>, %k: memref<?xf32>, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %qa = memref.alloc(%n) : memref<?xf32>
  %ka = memref.alloc(%n) : memref<?xf32>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %scratch = memref.alloca() : memref<1xf32>
        %v = memref.load %x[%i] : memref<?xf32>
        memref.store %v, %scratch[%c0] : memref<1xf32>
        %w = memref.load %scratch[%c0] : memref<1xf32>
        memref.store %w, %qa[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %v = memref.load %x[%i] : memref<?xf32>
        memref.store %v, %ka[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %u = memref.load %qa[%i] : memref<?xf32>
        %v = memref.load %ka[%i] : memref<?xf32>
        %s = arith.addf %u, %v : f32
        memref.store %s, %out[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  memref.dealloc %qa : memref<?xf32>
  memref.dealloc %ka : memref<?xf32>
  return
}

// -----

// Views are traced to their buffer: a loop writing a subview of %a and one
// reading an expand_shape of %a conflict.
// CHECK-LABEL: func.func @views_of_one_buffer
// CHECK: omp.parallel {
// CHECK-NEXT: omp.wsloop {
// CHECK: omp.wsloop nowait {
func.func @views_of_one_buffer(%n: index, %out: memref<?x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  %a = memref.alloc(%n) : memref<?xf32>
  %view = memref.subview %a[0] [%n] [1] : memref<?xf32> to memref<?xf32, strided<[1]>>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %view[%i] : memref<?xf32, strided<[1]>>
        omp.yield
      }
    }
    omp.terminator
  }
  %half = arith.divui %n, %c1 : index
  %pairs = memref.expand_shape %a [[0, 1]] output_shape [%half, 1] : memref<?xf32> into memref<?x1xf32>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%half) step (%c1) {
        %v = memref.load %pairs[%i, %c0] : memref<?x1xf32>
        memref.store %v, %out[%i, %c0] : memref<?x2xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// Two function arguments may be one buffer: the first barrier stays. A
// call in a loop touches what it likes: the barrier before it stays too.
// CHECK-LABEL: func.func @arguments_and_calls_conflict
// CHECK: omp.parallel {
// CHECK-NEXT: omp.wsloop {
// CHECK: memref.store %{{.*}}, %arg0
// CHECK: omp.wsloop {
// CHECK: memref.load %arg1
// CHECK: omp.wsloop nowait {
// CHECK: func.call @opaque
func.func private @opaque(f32)
func.func @arguments_and_calls_conflict(%x: memref<?xf32>, %y: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  %a = memref.alloc(%n) : memref<?xf32>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %x[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %v = memref.load %y[%i] : memref<?xf32>
        memref.store %v, %a[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        func.call @opaque(%f) : (f32) -> ()
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// An scf.if whose branches hold only pure ops and regions (a kernel chosen
// by a run-time shape) moves into the team: every thread takes the same
// branch. The branches' last loops end the unit; the next loop is
// independent of them, so they drop their barriers.
// CHECK-LABEL: func.func @if_of_regions_joins_the_team
// CHECK: omp.parallel {
// CHECK-NEXT: scf.if
// CHECK-NEXT: arith.subi
// CHECK-NEXT: omp.wsloop {
// CHECK: omp.wsloop nowait {
// CHECK: } else {
// CHECK-NEXT: omp.wsloop nowait {
// CHECK: omp.wsloop nowait {
// CHECK-NEXT: omp.loop_nest
// CHECK-NEXT: memref.load %arg0
// CHECK-NOT: omp.parallel
func.func @if_of_regions_joins_the_team(%x: memref<?xf32>, %n: index, %wide: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  %a = memref.alloc(%n) : memref<?xf32>
  %b = memref.alloc(%n) : memref<?xf32>
  scf.if %wide {
    omp.parallel {
      omp.wsloop {
        omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
          memref.store %f, %a[%i] : memref<?xf32>
          omp.yield
        }
      }
      omp.terminator
    }
    %m = arith.subi %n, %c1 : index
    omp.parallel {
      omp.wsloop {
        omp.loop_nest (%i) : index = (%c0) to (%m) step (%c1) {
          %v = memref.load %a[%i] : memref<?xf32>
          memref.store %v, %a[%i] : memref<?xf32>
          omp.yield
        }
      }
      omp.terminator
    }
  } else {
    omp.parallel {
      omp.wsloop {
        omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
          memref.store %f, %a[%i] : memref<?xf32>
          omp.yield
        }
      }
      omp.terminator
    }
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %v = memref.load %x[%i] : memref<?xf32>
        memref.store %v, %b[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// An scf.if without an else branch may skip its loops, and with them the
// barrier that would end it: the loop before it keeps its barrier although
// the loop after is independent of it.
// CHECK-LABEL: func.func @if_without_else_is_no_unit
// CHECK: omp.parallel {
// CHECK-NEXT: omp.wsloop {
// CHECK: scf.if
// CHECK-NEXT: omp.wsloop {
// CHECK: omp.wsloop nowait {
func.func @if_without_else_is_no_unit(%n: index, %maybe: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  %a = memref.alloc(%n) : memref<?xf32>
  %b = memref.alloc(%n) : memref<?xf32>
  %c = memref.alloc(%n) : memref<?xf32>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %a[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  scf.if %maybe {
    omp.parallel {
      omp.wsloop {
        omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
          %v = memref.load %a[%i] : memref<?xf32>
          memref.store %v, %b[%i] : memref<?xf32>
          omp.yield
        }
      }
      omp.terminator
    }
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %c[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// Left alone: a region with a clause; a store between two regions (it
// runs once, between them); an scf.if with a store of its own.
// CHECK-LABEL: func.func @left_alone
// CHECK: omp.parallel num_threads
// CHECK: omp.parallel {
// CHECK: memref.store
// CHECK: omp.parallel {
// CHECK: scf.if
// CHECK-NEXT: memref.store
// CHECK-NEXT: omp.parallel {
func.func @left_alone(%x: memref<?xf32>, %n: index, %t: i32, %cond: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  omp.parallel num_threads(%t : i32) {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %x[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %x[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  memref.store %f, %x[%c0] : memref<?xf32>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %x[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  scf.if %cond {
    memref.store %f, %x[%c0] : memref<?xf32>
    omp.parallel {
      omp.wsloop {
        omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
          memref.store %f, %x[%i] : memref<?xf32>
          omp.yield
        }
      }
      omp.terminator
    }
  }
  return
}
