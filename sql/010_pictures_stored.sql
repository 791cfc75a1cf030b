-- 010: pictures are the product's own copies from now on (SPEC §2.5).  A
-- user imported before kept Slack's CDN address in picture_url and its
-- avatar_hash, so the sync, seeing the hash unchanged, would never fetch
-- the picture.  Every stored copy has picture_large_url (the sync writes
-- both sizes together); clearing the hash where it is missing makes the
-- next sync fetch those pictures, while the old address stays shown until
-- the copy is stored.  Run again, it changes nothing more.
UPDATE users SET avatar_hash = NULL
  WHERE source = 'slack' AND picture_url IS NOT NULL AND picture_large_url IS NULL
    AND avatar_hash IS NOT NULL;
