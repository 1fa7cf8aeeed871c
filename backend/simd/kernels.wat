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

  ;; ---- Fused layer kernels (GELU, LayerNorm): float32 throughout, within a few ulp of the
  ;; float64 functions; the model's tfjs ops are the reference they are tested against.

  ;; erf(x) for four lanes: Eigen's float rational approximation (odd degree-13 numerator over an
  ;; even degree-8 denominator), no exp needed; ±1 from |x| ≥ 3.92 on, where erf rounds to ±1 in
  ;; float32 (the approximation is off by a few ulp of 1 there, which GELU would scale by x).
  (func $erf4 (param $a v128) (result v128)
    (local $x v128) (local $x2 v128) (local $p v128) (local $q v128)
    (local.set $x (f32x4.pmax (f32x4.pmin (local.get $a) (v128.const f32x4 4 4 4 4))
      (v128.const f32x4 -4 -4 -4 -4)))
    (local.set $x2 (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (call $madd (local.get $x2)
      (v128.const f32x4 -2.72614225801306e-10 -2.72614225801306e-10 -2.72614225801306e-10 -2.72614225801306e-10)
      (v128.const f32x4 2.77068142495902e-08 2.77068142495902e-08 2.77068142495902e-08 2.77068142495902e-08)))
    (local.set $p (call $madd (local.get $x2) (local.get $p)
      (v128.const f32x4 -2.10102402082508e-06 -2.10102402082508e-06 -2.10102402082508e-06 -2.10102402082508e-06)))
    (local.set $p (call $madd (local.get $x2) (local.get $p)
      (v128.const f32x4 -5.69250639462346e-05 -5.69250639462346e-05 -5.69250639462346e-05 -5.69250639462346e-05)))
    (local.set $p (call $madd (local.get $x2) (local.get $p)
      (v128.const f32x4 -7.34990630326855e-04 -7.34990630326855e-04 -7.34990630326855e-04 -7.34990630326855e-04)))
    (local.set $p (call $madd (local.get $x2) (local.get $p)
      (v128.const f32x4 -2.95459980854025e-03 -2.95459980854025e-03 -2.95459980854025e-03 -2.95459980854025e-03)))
    (local.set $p (call $madd (local.get $x2) (local.get $p)
      (v128.const f32x4 -1.60960333262415e-02 -1.60960333262415e-02 -1.60960333262415e-02 -1.60960333262415e-02)))
    (local.set $p (f32x4.mul (local.get $x) (local.get $p)))
    (local.set $q (call $madd (local.get $x2)
      (v128.const f32x4 -1.45660718464996e-05 -1.45660718464996e-05 -1.45660718464996e-05 -1.45660718464996e-05)
      (v128.const f32x4 -2.13374055278905e-04 -2.13374055278905e-04 -2.13374055278905e-04 -2.13374055278905e-04)))
    (local.set $q (call $madd (local.get $x2) (local.get $q)
      (v128.const f32x4 -1.68282697438203e-03 -1.68282697438203e-03 -1.68282697438203e-03 -1.68282697438203e-03)))
    (local.set $q (call $madd (local.get $x2) (local.get $q)
      (v128.const f32x4 -7.37332916720468e-03 -7.37332916720468e-03 -7.37332916720468e-03 -7.37332916720468e-03)))
    (local.set $q (call $madd (local.get $x2) (local.get $q)
      (v128.const f32x4 -1.42647390514189e-02 -1.42647390514189e-02 -1.42647390514189e-02 -1.42647390514189e-02)))
    (v128.bitselect
      (v128.or (v128.and (local.get $a) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
        (v128.const f32x4 1 1 1 1))
      (f32x4.div (local.get $p) (local.get $q))
      (f32x4.ge (f32x4.abs (local.get $a)) (v128.const f32x4 3.92 3.92 3.92 3.92))))

  ;; a·b + c (two roundings).
  (func $madd (param $a v128) (param $b v128) (param $c v128) (result v128)
    (f32x4.add (f32x4.mul (local.get $a) (local.get $b)) (local.get $c)))

  ;; exp(x) for four lanes (Cephes expf: x = k·ln2 + r in two parts, a degree-6 polynomial in r,
  ;; times 2^k built in the exponent bits); x clamped to [-87.33, 88], so 2^k stays a normal float.
  (func $exp4 (param $a v128) (result v128)
    (local $x v128) (local $fx v128) (local $z v128) (local $y v128)
    (local.set $x (f32x4.pmax (f32x4.pmin (local.get $a) (v128.const f32x4 88 88 88 88))
      (v128.const f32x4 -87.3365447504019 -87.3365447504019 -87.3365447504019 -87.3365447504019)))
    (local.set $fx (f32x4.nearest (f32x4.mul (local.get $x)
      (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))))
    (local.set $x (f32x4.sub (local.get $x) (f32x4.mul (local.get $fx)
      (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $x (f32x4.sub (local.get $x) (f32x4.mul (local.get $fx)
      (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $y (call $madd (local.get $x)
      (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4)
      (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $y (call $madd (local.get $y) (local.get $x)
      (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $y (call $madd (local.get $y) (local.get $x)
      (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $y (call $madd (local.get $y) (local.get $x)
      (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $y (call $madd (local.get $y) (local.get $x)
      (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $y (f32x4.add (f32x4.add (f32x4.mul (local.get $y) (local.get $z)) (local.get $x))
      (v128.const f32x4 1 1 1 1)))
    (f32x4.mul (local.get $y)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $fx)) (v128.const i32x4 127 127 127 127))
        (i32.const 23))))

  ;; Φ(x) = (erf(x/√2) + 1)·0.5, the standard normal CDF.
  (func $cdf4 (param $x v128) (result v128)
    (f32x4.mul
      (f32x4.add
        (call $erf4 (f32x4.mul (local.get $x)
          (v128.const f32x4 0.7071067811865476 0.7071067811865476 0.7071067811865476 0.7071067811865476)))
        (v128.const f32x4 1 1 1 1))
      (v128.const f32x4 0.5 0.5 0.5 0.5)))

  ;; y = x·Φ(x) for four lanes, and Φ(x).
  (func $gelu4 (param $x v128) (result v128 v128)
    (local $c v128)
    (local.set $c (call $cdf4 (local.get $x)))
    (f32x4.mul (local.get $x) (local.get $c))
    (local.get $c))

  ;; dy·(Φ(x) + x·φ(x)), φ(x) = exp(x²·−0.5)·(1/√(2π)), with Φ(x) as the forward stored it.
  (func $gelu_grad4 (param $x v128) (param $cdf v128) (param $dy v128) (result v128)
    (f32x4.mul (local.get $dy)
      (f32x4.add (local.get $cdf)
        (f32x4.mul (local.get $x)
          (f32x4.mul
            (call $exp4 (f32x4.mul (f32x4.mul (local.get $x) (local.get $x))
              (v128.const f32x4 -0.5 -0.5 -0.5 -0.5)))
            (v128.const f32x4 0.3989422804014327 0.3989422804014327 0.3989422804014327 0.3989422804014327))))))

  ;; y[i] = GELU(x[i]) = x·Φ(x) (exact, erf) and cdf[i] = Φ(x[i]) (for the backward), i < n; the
  ;; last n mod 4 values lane by lane.
  (func (export "gelu") (param $x i32) (param $y i32) (param $cdf i32) (param $n i32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $yv v128) (local $cv v128)
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $i) (local.get $end4)))
        (call $gelu4 (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $cv)
        (local.set $yv)
        (v128.store (i32.add (local.get $y) (local.get $i)) (local.get $yv))
        (v128.store (i32.add (local.get $cdf) (local.get $i)) (local.get $cv))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (call $gelu4 (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $i)))))
        (local.set $cv)
        (local.set $yv)
        (f32.store (i32.add (local.get $y) (local.get $i)) (f32x4.extract_lane 0 (local.get $yv)))
        (f32.store (i32.add (local.get $cdf) (local.get $i)) (f32x4.extract_lane 0 (local.get $cv)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rest))))

  ;; dx[i] = dy[i]·GELU'(x[i]) for i < n, from the forward's cdf.
  (func (export "gelu_grad") (param $x i32) (param $cdf i32) (param $dy i32) (param $dx i32) (param $n i32)
    (local $i i32) (local $end4 i32) (local $end i32)
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $i) (local.get $end4)))
        (v128.store (i32.add (local.get $dx) (local.get $i))
          (call $gelu_grad4 (v128.load (i32.add (local.get $x) (local.get $i)))
            (v128.load (i32.add (local.get $cdf) (local.get $i)))
            (v128.load (i32.add (local.get $dy) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (f32.store (i32.add (local.get $dx) (local.get $i))
          (f32x4.extract_lane 0
            (call $gelu_grad4 (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $i))))
              (f32x4.splat (f32.load (i32.add (local.get $cdf) (local.get $i))))
              (f32x4.splat (f32.load (i32.add (local.get $dy) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rest))))

  ;; The four lanes' sum ((l0 + l1) + (l2 + l3)).
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; LayerNorm over rows of d values (d a multiple of 4), of x, or of x + res where res is not 0:
  ;; per row s = x (+ res), mean, biased variance, rstd = 1/sqrt(var + eps),
  ;; xhat = (s − mean)·rstd, y = xhat·gamma + beta. Writes y and xhat ([rows, d]) and rstd ([rows]).
  (func (export "layer_norm")
    (param $x i32) (param $res i32) (param $gamma i32) (param $beta i32)
    (param $y i32) (param $xhat i32) (param $rstd i32) (param $rows i32) (param $d i32)
    (param $eps f32)
    (local $r i32) (local $j i32) (local $bytes i32) (local $row i32)
    (local $acc v128) (local $c v128) (local $mean v128) (local $rs f32) (local $dinv f32)
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $dinv (f32.div (f32.const 1) (f32.convert_i32_u (local.get $d))))
    (block $rows_done
      (loop $each_row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.mul (local.get $r) (local.get $bytes)))
        ;; s into xhat, and its sum
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $sum_done
          (loop $sum
            (br_if $sum_done (i32.ge_u (local.get $j) (local.get $bytes)))
            (local.set $c (v128.load (i32.add (i32.add (local.get $x) (local.get $row)) (local.get $j))))
            (if (local.get $res)
              (then (local.set $c (f32x4.add (local.get $c)
                (v128.load (i32.add (i32.add (local.get $res) (local.get $row)) (local.get $j)))))))
            (v128.store (i32.add (i32.add (local.get $xhat) (local.get $row)) (local.get $j)) (local.get $c))
            (local.set $acc (f32x4.add (local.get $acc) (local.get $c)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $sum)))
        (local.set $mean (f32x4.splat (f32.mul (call $hsum (local.get $acc)) (local.get $dinv))))
        ;; Σ (s − mean)²
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $var_done
          (loop $var
            (br_if $var_done (i32.ge_u (local.get $j) (local.get $bytes)))
            (local.set $c (f32x4.sub
              (v128.load (i32.add (i32.add (local.get $xhat) (local.get $row)) (local.get $j)))
              (local.get $mean)))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $c) (local.get $c))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $var)))
        (local.set $rs (f32.div (f32.const 1) (f32.sqrt (f32.add
          (f32.mul (call $hsum (local.get $acc)) (local.get $dinv)) (local.get $eps)))))
        (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))) (local.get $rs))
        ;; xhat and y
        (local.set $j (i32.const 0))
        (block $out_done
          (loop $out
            (br_if $out_done (i32.ge_u (local.get $j) (local.get $bytes)))
            (local.set $c (f32x4.mul
              (f32x4.sub
                (v128.load (i32.add (i32.add (local.get $xhat) (local.get $row)) (local.get $j)))
                (local.get $mean))
              (f32x4.splat (local.get $rs))))
            (v128.store (i32.add (i32.add (local.get $xhat) (local.get $row)) (local.get $j)) (local.get $c))
            (v128.store (i32.add (i32.add (local.get $y) (local.get $row)) (local.get $j))
              (f32x4.add (f32x4.mul (local.get $c) (v128.load (i32.add (local.get $gamma) (local.get $j))))
                (v128.load (i32.add (local.get $beta) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $out)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $each_row))))

  ;; LayerNorm's backward from what the forward kept (xhat, rstd): per row
  ;; dxhat = dy·gamma, dx = (dxhat − mean(dxhat) − xhat·mean(dxhat·xhat))·rstd; and over all rows
  ;; dgamma = Σ dy·xhat, dbeta = Σ dy (both [d], written afresh).
  (func (export "layer_norm_grad")
    (param $dy i32) (param $xhat i32) (param $rstd i32) (param $gamma i32)
    (param $dx i32) (param $dgamma i32) (param $dbeta i32) (param $rows i32) (param $d i32)
    (local $r i32) (local $j i32) (local $bytes i32) (local $row i32)
    (local $a v128) (local $b v128) (local $g v128) (local $dyv v128) (local $xh v128)
    (local $rs v128) (local $dinv f32)
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $dinv (f32.div (f32.const 1) (f32.convert_i32_u (local.get $d))))
    (memory.fill (local.get $dgamma) (i32.const 0) (local.get $bytes))
    (memory.fill (local.get $dbeta) (i32.const 0) (local.get $bytes))
    (block $rows_done
      (loop $each_row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.mul (local.get $r) (local.get $bytes)))
        (local.set $a (v128.const i32x4 0 0 0 0))
        (local.set $b (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $sums_done
          (loop $sums
            (br_if $sums_done (i32.ge_u (local.get $j) (local.get $bytes)))
            (local.set $dyv (v128.load (i32.add (i32.add (local.get $dy) (local.get $row)) (local.get $j))))
            (local.set $xh (v128.load (i32.add (i32.add (local.get $xhat) (local.get $row)) (local.get $j))))
            (local.set $g (f32x4.mul (local.get $dyv) (v128.load (i32.add (local.get $gamma) (local.get $j)))))
            (local.set $a (f32x4.add (local.get $a) (local.get $g)))
            (local.set $b (f32x4.add (local.get $b) (f32x4.mul (local.get $g) (local.get $xh))))
            (v128.store (i32.add (local.get $dgamma) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $dgamma) (local.get $j)))
                (f32x4.mul (local.get $dyv) (local.get $xh))))
            (v128.store (i32.add (local.get $dbeta) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $dbeta) (local.get $j))) (local.get $dyv)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $sums)))
        (local.set $a (f32x4.splat (f32.mul (call $hsum (local.get $a)) (local.get $dinv))))
        (local.set $b (f32x4.splat (f32.mul (call $hsum (local.get $b)) (local.get $dinv))))
        (local.set $rs (v128.load32_splat (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $j (i32.const 0))
        (block $out_done
          (loop $out
            (br_if $out_done (i32.ge_u (local.get $j) (local.get $bytes)))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $row)) (local.get $j))
              (f32x4.mul
                (f32x4.sub
                  (f32x4.sub
                    (f32x4.mul
                      (v128.load (i32.add (i32.add (local.get $dy) (local.get $row)) (local.get $j)))
                      (v128.load (i32.add (local.get $gamma) (local.get $j))))
                    (local.get $a))
                  (f32x4.mul
                    (v128.load (i32.add (i32.add (local.get $xhat) (local.get $row)) (local.get $j)))
                    (local.get $b)))
                (local.get $rs)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $out)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $each_row))))
  ;; Dropout's multiplier, value for value as backend/_wasm_kernels.ts's fillDropoutMask: Alea
  ;; (J. Baagøe) from the state (s0, s1, s2) its Mash seeding left, c = 1; each draw u is rounded
  ;; to float32 and the element is kept (scale) when the float32 sum u + keep is at least 1, else
  ;; 0. Alea is a recurrence, one value after another, so this loop is scalar: its gain over the
  ;; JS loop is wasm's f64.trunc and the plain stores. t < 2^31, so trunc equals JS's `t | 0`.
  (func (export "dropout_mask") (param $out i32) (param $n i32)
        (param $s0 f64) (param $s1 f64) (param $s2 f64) (param $keep f32) (param $scale f32)
    (local $c f64) (local $t f64) (local $end i32)
    (local.set $c (f64.const 1))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $t
          (f64.add (f64.mul (f64.const 2091639) (local.get $s0))
                   (f64.mul (local.get $c) (f64.const 2.3283064365386963e-10))))
        (local.set $s0 (local.get $s1))
        (local.set $s1 (local.get $s2))
        (local.set $c (f64.trunc (local.get $t)))
        (local.set $s2 (f64.sub (local.get $t) (local.get $c)))
        (f32.store (local.get $out)
          (select (local.get $scale) (f32.const 0)
            (f32.ge (f32.add (f32.demote_f64 (local.get $s2)) (local.get $keep)) (f32.const 1))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $each)))
  )
)
