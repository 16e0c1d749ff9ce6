-- The history sees at least what the extract holds: in every month, the outcomes and
-- follow-ups seen are at least the extract's own, and the outcomes achieved or part
-- achieved are a part of the outcomes seen. Returns the months where that fails.
select *
from {{ ref('monthly_outcomes_seen') }}
where
    goal_outcomes_seen < goal_outcomes_recorded
    or goals_achieved_or_part_achieved_seen < goals_achieved_or_part_achieved
    or wellbeing_follow_ups_seen < wellbeing_follow_ups_recorded
    or goals_achieved_or_part_achieved_seen > goal_outcomes_seen
