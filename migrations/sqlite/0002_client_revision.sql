-- A random number written with every change of a client row: which version of the row a
-- cached copy is. The token endpoint stores a token only while the row it authenticated the
-- client with is still the stored one (INSERT ... WHERE EXISTS ... revision = $n).
ALTER TABLE hydra_client ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
