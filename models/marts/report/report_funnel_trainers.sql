{{ report_funnel_points(ref('funnel_trainers'), 'health_trainer_id') }}
