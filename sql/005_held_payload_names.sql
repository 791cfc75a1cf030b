-- 005: held syncs' planned actions name their kind, reason and changed
-- fields instead of numbering them.
--
-- Until now a planned row's payload_json stored the C enums' ordinals
-- ("kind": 2, "reason": 6, "changes": [{"f": 7, ...}]): adding a reason in
-- the middle of the enum would have re-labelled every held sync already
-- stored.  Payloads are now written with the names the API uses
-- ("deactivate", "left_scope", "status") and read back by name.  This
-- rewrites the payloads stored before, with the enums' order as it was when
-- the ordinals were written (lib/sync/sync_plan.h at this migration):
--   kind   0 create ... 6 skip
--   reason 0 new_in_scope ... 15 last_administrator
--   field  0 first_name ... 7 status
-- An ordinal outside those lists becomes "unknown", a name no value has,
-- which the applier refuses rather than guessing.
--
-- Only planned rows are read back (approving a held sync), so only they
-- are rewritten; the outcome index finds them.  Each statement touches only
-- payloads still holding a number, so running it again changes nothing.
-- A payload has at most one change per field (8).

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json,
     '$.kind', COALESCE(ELT(JSON_VALUE(payload_json, '$.kind') + 1,
       'create','update','deactivate','reactivate','add_to_team','remove_from_team','skip'), 'unknown'),
     '$.reason', COALESCE(ELT(JSON_VALUE(payload_json, '$.reason') + 1,
       'new_in_scope','profile_changed','linked_by_email','back_in_scope',
       'deleted_in_slack','left_workspace','left_scope','excluded','domain_not_allowed',
       'in_mapped_group','not_in_mapped_group','no_email','email_taken_by_linked_user',
       'email_taken_by_other_user','needs_review','last_administrator'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.kind')) = 'INTEGER';

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json, '$.changes[0].f',
     COALESCE(ELT(JSON_VALUE(payload_json, '$.changes[0].f') + 1,
       'first_name','last_name','display_name','email','picture','job_title',
       'is_guest','status'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.changes[0].f')) = 'INTEGER';

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json, '$.changes[1].f',
     COALESCE(ELT(JSON_VALUE(payload_json, '$.changes[1].f') + 1,
       'first_name','last_name','display_name','email','picture','job_title',
       'is_guest','status'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.changes[1].f')) = 'INTEGER';

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json, '$.changes[2].f',
     COALESCE(ELT(JSON_VALUE(payload_json, '$.changes[2].f') + 1,
       'first_name','last_name','display_name','email','picture','job_title',
       'is_guest','status'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.changes[2].f')) = 'INTEGER';

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json, '$.changes[3].f',
     COALESCE(ELT(JSON_VALUE(payload_json, '$.changes[3].f') + 1,
       'first_name','last_name','display_name','email','picture','job_title',
       'is_guest','status'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.changes[3].f')) = 'INTEGER';

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json, '$.changes[4].f',
     COALESCE(ELT(JSON_VALUE(payload_json, '$.changes[4].f') + 1,
       'first_name','last_name','display_name','email','picture','job_title',
       'is_guest','status'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.changes[4].f')) = 'INTEGER';

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json, '$.changes[5].f',
     COALESCE(ELT(JSON_VALUE(payload_json, '$.changes[5].f') + 1,
       'first_name','last_name','display_name','email','picture','job_title',
       'is_guest','status'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.changes[5].f')) = 'INTEGER';

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json, '$.changes[6].f',
     COALESCE(ELT(JSON_VALUE(payload_json, '$.changes[6].f') + 1,
       'first_name','last_name','display_name','email','picture','job_title',
       'is_guest','status'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.changes[6].f')) = 'INTEGER';

UPDATE provisioning_sync_actions
   SET payload_json = JSON_SET(payload_json, '$.changes[7].f',
     COALESCE(ELT(JSON_VALUE(payload_json, '$.changes[7].f') + 1,
       'first_name','last_name','display_name','email','picture','job_title',
       'is_guest','status'), 'unknown'))
 WHERE outcome = 'planned' AND payload_json IS NOT NULL
   AND JSON_TYPE(JSON_EXTRACT(payload_json, '$.changes[7].f')) = 'INTEGER';
