/** Small churn-shaped groups for feature-view tests: three groups keyed by customerid. */
export const CUSTOMER_INFO = {
  name: 'customer_info',
  primaryKey: ['customerid'],
  eventTime: 'datetime',
  onlineEnabled: true,
  features: [
    { name: 'customerid', type: 'STRING' },
    { name: 'contract', type: 'STRING' },
    { name: 'tenure', type: 'INT' },
    { name: 'paymentmethod', type: 'STRING' },
    { name: 'monthlycharges', type: 'DOUBLE' },
    { name: 'totalcharges', type: 'DOUBLE' },
    { name: 'churn', type: 'INT' },
    { name: 'datetime', type: 'TIMESTAMP' },
  ],
};

export const DEMOGRAPHY = {
  name: 'customer_demography_info',
  primaryKey: ['customerid'],
  onlineEnabled: true,
  features: [
    { name: 'customerid', type: 'STRING' },
    { name: 'gender', type: 'STRING' },
    { name: 'seniorcitizen', type: 'INT' },
    { name: 'partner', type: 'STRING' },
  ],
};

export const SUBSCRIPTIONS = {
  name: 'customer_subscription_info',
  primaryKey: ['customerid'],
  eventTime: 'datetime',
  onlineEnabled: true,
  features: [
    { name: 'customerid', type: 'STRING' },
    { name: 'datetime', type: 'TIMESTAMP' },
    { name: 'internetservice', type: 'STRING' },
    { name: 'phoneservice', type: 'STRING' },
  ],
};

/** The seed's view: select_except and joins as in the Hopsworks churn tutorial. */
export const CHURN_VIEW = {
  name: 'churn_feature_view',
  labels: ['churn'],
  query: {
    featureGroup: { name: 'customer_info' },
    exceptFeatures: ['customerid', 'datetime'],
    joins: [
      { featureGroup: { name: 'customer_demography_info' }, exceptFeatures: ['customerid'] },
      { featureGroup: { name: 'customer_subscription_info' }, exceptFeatures: ['datetime'] },
    ],
  },
  transformations: [
    { function: 'min_max_scaler', feature: 'tenure' },
    { function: 'min_max_scaler', feature: 'monthlycharges' },
    { function: 'min_max_scaler', feature: 'totalcharges' },
    { function: 'label_encoder', feature: 'contract' },
    { function: 'label_encoder', feature: 'paymentmethod' },
    { function: 'label_encoder', feature: 'gender' },
    { function: 'label_encoder', feature: 'partner' },
    { function: 'label_encoder', feature: 'internetservice' },
    { function: 'label_encoder', feature: 'phoneservice' },
  ],
};

/** Deterministic pseudo-random rows for n customers. */
export function churnRows(n: number, seed = 7) {
  let s = seed;
  const rand = (k: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % k;
  };
  const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)]!;
  const info = [];
  const demography = [];
  const subscriptions = [];
  for (let i = 0; i < n; i++) {
    const customerid = `c${String(i).padStart(4, '0')}`;
    const tenure = rand(72);
    const monthly = 20 + rand(100);
    subscriptions.push({
      customerid,
      datetime: new Date(Date.UTC(2026, 0, 1 + rand(10))).toISOString(),
      internetservice: pick(['DSL', 'Fiber optic', 'No']),
      phoneservice: pick(['Yes', 'No']),
    });
    demography.push({ customerid, gender: pick(['Female', 'Male']), seniorcitizen: rand(2), partner: pick(['Yes', 'No']) });
    info.push({
      customerid,
      contract: pick(['Month-to-month', 'One year', 'Two year']),
      tenure,
      paymentmethod: pick(['Electronic check', 'Mailed check', 'Bank transfer', 'Credit card']),
      monthlycharges: monthly,
      totalcharges: monthly * tenure,
      churn: rand(2),
      datetime: new Date(Date.UTC(2026, 1, 1 + rand(20))).toISOString(),
    });
  }
  return { info, demography, subscriptions };
}
