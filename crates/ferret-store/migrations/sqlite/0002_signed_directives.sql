-- Signed directives: the organisation's directive public key (minisign text), and per
-- directive the signed envelope kept verbatim (document text, signature text), its verb
-- and when it was closed. `command` keeps a one-line summary for people; rows written
-- before this migration keep their unsigned command, which agents refuse.
ALTER TABLE organisations ADD COLUMN directive_key TEXT;
ALTER TABLE directives ADD COLUMN verb TEXT;
ALTER TABLE directives ADD COLUMN document TEXT;
ALTER TABLE directives ADD COLUMN signature TEXT;
ALTER TABLE directives ADD COLUMN closed_ms INTEGER;
