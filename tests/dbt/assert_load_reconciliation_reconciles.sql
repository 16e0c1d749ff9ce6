-- Nothing lost in the load: every file's rows read equal rows staged plus rows rejected
-- and the manifest's count. Returns the files that do not reconcile.
select *
from {{ ref('load_reconciliation') }}
where not coalesce(reconciles, false)
