import type { ExpectationSuiteInput } from '../../lib/expectations.js';

/**
 * The example churn pipeline's data contract: what the generated (or shipped) churn data must
 * satisfy before training, and the feature SQL run over it (the view `input`).
 */
export const churnExpectations: ExpectationSuiteInput = {
  name: 'churn',
  expectations: [
    { type: 'column_type', column: 'customer_id', columnType: 'string' },
    { type: 'column_type', column: 'tenure_months', columnType: 'integer' },
    { type: 'column_type', column: 'churned', columnType: 'boolean' },
    { type: 'not_null', column: 'customer_id' },
    { type: 'unique', columns: ['customer_id'] },
    { type: 'match_regex', column: 'customer_id', pattern: '^C[0-9]{9}$' },
    { type: 'not_null', column: 'churned' },
    { type: 'between', column: 'tenure_months', min: 0, max: 120 },
    { type: 'between', column: 'monthly_charges', min: 0, max: 500, mostly: 0.999 },
    { type: 'null_share_at_most', column: 'monthly_charges', max: 0.01 },
    { type: 'between', column: 'support_calls', min: 0, max: 50 },
    { type: 'in_set', column: 'contract', values: ['month-to-month', 'one-year', 'two-year'] },
    { type: 'in_set', column: 'region', values: ['north', 'south', 'east', 'west', 'central'] },
    { type: 'row_count_between', min: 100 },
    { type: 'mean_between', column: 'tenure_months', min: 10, max: 60 },
    { type: 'quantile_between', column: 'usage_gb', quantile: 0.5, min: 5, max: 60 },
    { type: 'stddev_between', column: 'monthly_charges', min: 5, max: 60 },
  ],
};

/** Churn features: raw columns plus a few derived ones; `customer_id` is kept for the split. */
export const churnFeaturesSql = `
SELECT
  customer_id,
  tenure_months,
  monthly_charges,
  total_charges,
  support_calls,
  ln(1 + usage_gb) AS log_usage_gb,
  CAST(senior_citizen AS INTEGER) AS senior_citizen,
  total_charges / greatest(tenure_months, 1) AS avg_monthly_spend,
  contract,
  payment_method,
  internet_service,
  region,
  churned
FROM input`;

export const churnFeatureOptions = { label: 'churned', exclude: ['customer_id'] };
