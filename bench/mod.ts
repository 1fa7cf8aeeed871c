/**
 * The bench folder's public face: the `bench` command's measurements (training and evaluation
 * speed, an MRPC epoch slice, padding, memory, the matmul rate) as one {@linkcode BenchReport}.
 *
 * @module
 */
export * from "./bench.ts";
