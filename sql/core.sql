-- The extension loads, pins OpenBLAS and names its kernel set.
SELECT recpromo.blas_corename() <> '' AS has_corename;
SHOW recpromo.max_threads;
SET recpromo.max_threads = 0;
SET recpromo.memory_limit = '512kB';
