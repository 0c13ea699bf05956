-- recpromo demo: a small generated shop (users x products ratings).
\pset footer off
CREATE EXTENSION recpromo;
SET search_path = recpromo, public;
\echo '== OpenBLAS kernel set'
SELECT blas_corename();
