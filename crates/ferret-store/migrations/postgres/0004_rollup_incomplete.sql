-- The roll-up gains the status `incomplete`: a host whose latest answering run had no
-- findings but was not complete (exit status 3; for `check`, a campaign verdict UNKNOWN).
-- Rows written before it showed such a host as `clean` (or `fixed`); they are dropped here
-- and the store rebuilds every row from the stored runs and outcomes right after, in the
-- same transaction.
DELETE FROM directive_hosts;
