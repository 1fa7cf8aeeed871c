;; mrpc-tune's wasm SIMD kernels. Built by `deno task build:simd` (npm wabt 1.0.39) into kernels.wasm,
;; which is committed; tests/backend/simd_test.ts checks that the two agree.
;;
;; They work on float32 arrays in an imported memory, tfjs-wasm's own heap, so that gradients,
;; Adam's moments and the model's weight tensors are read and written where they are: every
;; pointer is a byte offset into that memory (4-byte aligned; 16-byte alignment not needed).
;; Each function does its vector loop four lanes at a time, then the rest one by one. Every float
;; operation is the IEEE-754 one JavaScript's `Math.fround` gives for the same operation, so the
;; results equal the JS loops they replace bit for bit (AdamW's lerp is done in f64, as JS does).
(module
  (import "env" "memory" (memory 0 65536))

  ;; dst[i] += src[i] for i < n.
  (func (export "add") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $end4 i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $dst)
      (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $dst) (local.get $end4)))
        (v128.store (local.get $dst)
          (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst)
          (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $rest))))

  ;; Row r of src ([rows, cols]) added into row rows[r] of dst (a row-major matrix of cols
  ;; columns): the sparse gradient of an embedding table. `rows` points to int32 row numbers.
  (func (export "add_rows")
    (param $dst i32) (param $rows i32) (param $n_rows i32) (param $src i32) (param $cols i32)
    (local $r i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $r) (local.get $n_rows)))
        (call $add_at
          (i32.add (local.get $dst)
            (i32.mul (i32.load (i32.add (local.get $rows) (i32.shl (local.get $r) (i32.const 2))))
              (local.get $bytes)))
          (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $bytes)))
          (local.get $cols))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $each))))

  (func $add_at (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $end4 i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $dst)
      (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $dst) (local.get $end4)))
        (v128.store (local.get $dst)
          (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst)
          (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $rest))))

  ;; Σ x[i]² for i < n, each square exact in f64, summed in f64 over four running partial sums
  ;; (NaN or ±Infinity anywhere makes the result non-finite).
  (func (export "sum_squares") (param $x i32) (param $n i32) (result f64)
    (local $end i32) (local $end4 i32) (local $lo v128) (local $hi v128) (local $v v128)
    (local $sum f64) (local $s f64)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $x)
      (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $x) (local.get $end4)))
        (local.set $v (v128.load (local.get $x)))
        (local.set $s (f64.const 0))
        (local.set $lo (f64x2.add (local.get $lo)
          (call $sq (f64x2.promote_low_f32x4 (local.get $v)))))
        (local.set $hi (f64x2.add (local.get $hi)
          (call $sq (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $vectors)))
    (local.set $sum (f64.add
      (f64.add (f64x2.extract_lane 0 (local.get $lo)) (f64x2.extract_lane 1 (local.get $lo)))
      (f64.add (f64x2.extract_lane 0 (local.get $hi)) (f64x2.extract_lane 1 (local.get $hi)))))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $s (f64.promote_f32 (f32.load (local.get $x))))
        (local.set $sum (f64.add (local.get $sum) (f64.mul (local.get $s) (local.get $s))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $rest)))
    (local.get $sum))

  (func $sq (param $v v128) (result v128) (f64x2.mul (local.get $v) (local.get $v)))

  ;; One AdamW step over n parameters, in place, in torch.optim.AdamW's operation order (see
  ;; train/adamw.ts for the formulas and the float32 constants; all of them come from there):
  ;;   g = grad·clip; p = p·decay; m = m + (1−β1)·(g − m) [in f64, as JS evaluates it];
  ;;   v = v·β2 + ((1−β2)·g)·g; denom = sqrt(v)/sqrt(1−β2^t) + eps; p = p + (−lr/(1−β1^t))·m / denom.
  ;; Multiplying by a constant of exactly 1 (no clipping, no decay) changes nothing.
  (func (export "adamw")
    (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
    (param $clip f32) (param $decay f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32)
    (param $neg_step f32) (param $bc2_sqrt f32) (param $eps f32)
    (local $end4 i32) (local $i i32)
    (local $vclip v128) (local $vdecay v128) (local $vomb1 v128) (local $vomb1d v128)
    (local $vb2 v128) (local $vomb2 v128) (local $vneg v128) (local $vbc2 v128) (local $veps v128)
    (local $gi v128) (local $pi v128) (local $mo v128) (local $d v128) (local $mi v128)
    (local $vi v128) (local $den v128)
    (local $sg f32) (local $sp f32) (local $sm f32) (local $sv f32)
    (local.set $vclip (f32x4.splat (local.get $clip)))
    (local.set $vdecay (f32x4.splat (local.get $decay)))
    (local.set $vomb1 (f32x4.splat (local.get $omb1)))
    (local.set $vomb1d (f64x2.splat (f64.promote_f32 (local.get $omb1))))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vomb2 (f32x4.splat (local.get $omb2)))
    (local.set $vneg (f32x4.splat (local.get $neg_step)))
    (local.set $vbc2 (f32x4.splat (local.get $bc2_sqrt)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $gi (f32x4.mul
          (v128.load (i32.add (local.get $g) (local.get $i))) (local.get $vclip)))
        (local.set $pi (f32x4.mul
          (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $vdecay)))
        (local.set $mo (v128.load (i32.add (local.get $m) (local.get $i))))
        (local.set $d (f32x4.sub (local.get $gi) (local.get $mo)))
        ;; m + (1−β1)·d in f64 (both halves), then rounded to f32 once, as JS's fround does
        (local.set $mi (call $lerp (local.get $mo) (local.get $d) (local.get $vomb1d)))
        (local.set $vi (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $vb2))
          (f32x4.mul (f32x4.mul (local.get $vomb2) (local.get $gi)) (local.get $gi))))
        (local.set $den (f32x4.add
          (f32x4.div (f32x4.sqrt (local.get $vi)) (local.get $vbc2)) (local.get $veps)))
        (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $mi))
        (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $vi))
        (v128.store (i32.add (local.get $p) (local.get $i))
          (f32x4.add (local.get $pi)
            (f32x4.div (f32x4.mul (local.get $vneg) (local.get $mi)) (local.get $den))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vectors)))
    (local.set $end4 (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $sg (f32.mul
          (f32.load (i32.add (local.get $g) (local.get $i))) (local.get $clip)))
        (local.set $sp (f32.mul
          (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $decay)))
        (local.set $sm (f32.load (i32.add (local.get $m) (local.get $i))))
        (local.set $sm (f32.demote_f64 (f64.add (f64.promote_f32 (local.get $sm))
          (f64.mul (f64.promote_f32 (local.get $omb1))
            (f64.promote_f32 (f32.sub (local.get $sg) (local.get $sm)))))))
        (local.set $sv (f32.add
          (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
          (f32.mul (f32.mul (local.get $omb2) (local.get $sg)) (local.get $sg))))
        (f32.store (i32.add (local.get $m) (local.get $i)) (local.get $sm))
        (f32.store (i32.add (local.get $v) (local.get $i)) (local.get $sv))
        (f32.store (i32.add (local.get $p) (local.get $i))
          (f32.add (local.get $sp)
            (f32.div (f32.mul (local.get $neg_step) (local.get $sm))
              (f32.add (f32.div (f32.sqrt (local.get $sv)) (local.get $bc2_sqrt))
                (local.get $eps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rest))))

  ;; m + w·d for four lanes, evaluated in f64 and rounded to f32 once.
  (func $lerp (param $m v128) (param $d v128) (param $w v128) (result v128)
    (local $lo v128) (local $hi v128)
    (local.set $lo (f64x2.add (f64x2.promote_low_f32x4 (local.get $m))
      (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (local.get $d)))))
    (local.set $hi (f64x2.add
      (f64x2.promote_low_f32x4 (call $high (local.get $m)))
      (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (call $high (local.get $d))))))
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))

  ;; Lanes 2 and 3 moved to 0 and 1.
  (func $high (param $v v128) (result v128)
    (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
)
