/**
 * What the churn pipelines create: the three feature groups, the feature view and the model
 * name, as in the Hopsworks churn tutorial.
 */
import type { FeatureGroupInput, FeatureViewInput } from 'granary/client';

export const CUSTOMER_INFO: FeatureGroupInput = {
  name: 'customer_info',
  description: 'Customer account information and churn label (synthetic Telco data)',
  primaryKey: ['customerid'],
  eventTime: 'datetime',
  onlineEnabled: true,
  features: [
    { name: 'customerid', type: 'STRING', description: 'Customer id' },
    { name: 'contract', type: 'STRING', description: 'Month-to-month, One year or Two year' },
    { name: 'tenure', type: 'INT', description: 'Months the customer has stayed' },
    { name: 'paymentmethod', type: 'STRING', description: 'How the customer pays' },
    { name: 'paperlessbilling', type: 'STRING', description: 'Yes or No' },
    { name: 'monthlycharges', type: 'DOUBLE', description: 'Amount charged monthly' },
    { name: 'totalcharges', type: 'DOUBLE', description: 'Amount charged in total' },
    { name: 'churn', type: 'INT', description: '1 if the customer left within the last month' },
    { name: 'datetime', type: 'TIMESTAMP', description: 'When the account was observed' },
  ],
};

export const CUSTOMER_DEMOGRAPHY: FeatureGroupInput = {
  name: 'customer_demography_info',
  description: 'Customer demographic information (synthetic Telco data)',
  primaryKey: ['customerid'],
  onlineEnabled: true,
  features: [
    { name: 'customerid', type: 'STRING', description: 'Customer id' },
    { name: 'gender', type: 'STRING', description: 'Male or Female' },
    { name: 'seniorcitizen', type: 'INT', description: '1 if the customer is 65 or older' },
    { name: 'dependents', type: 'STRING', description: 'Yes or No' },
    { name: 'partner', type: 'STRING', description: 'Yes or No' },
  ],
};

const SERVICE = 'Yes, No or No internet service';

export const CUSTOMER_SUBSCRIPTIONS: FeatureGroupInput = {
  name: 'customer_subscription_info',
  description: 'Services each customer has signed up for (synthetic Telco data)',
  primaryKey: ['customerid'],
  eventTime: 'datetime',
  onlineEnabled: true,
  features: [
    { name: 'customerid', type: 'STRING', description: 'Customer id' },
    { name: 'datetime', type: 'TIMESTAMP', description: 'When the subscription last changed' },
    { name: 'phoneservice', type: 'STRING', description: 'Yes or No' },
    { name: 'multiplelines', type: 'STRING', description: 'Yes, No or No phone service' },
    { name: 'internetservice', type: 'STRING', description: 'DSL, Fiber optic or No' },
    { name: 'onlinesecurity', type: 'STRING', description: SERVICE },
    { name: 'onlinebackup', type: 'STRING', description: SERVICE },
    { name: 'deviceprotection', type: 'STRING', description: SERVICE },
    { name: 'techsupport', type: 'STRING', description: SERVICE },
    { name: 'streamingtv', type: 'STRING', description: SERVICE },
    { name: 'streamingmovies', type: 'STRING', description: SERVICE },
  ],
};

/** The numeric features scaled to [0, 1]. */
export const SCALED_FEATURES = ['tenure', 'monthlycharges', 'totalcharges'] as const;

/** The 15 categorical features, label encoded. */
export const CATEGORICAL_FEATURES = [
  'contract',
  'paymentmethod',
  'paperlessbilling',
  'gender',
  'dependents',
  'partner',
  'phoneservice',
  'multiplelines',
  'internetservice',
  'onlinesecurity',
  'onlinebackup',
  'deviceprotection',
  'techsupport',
  'streamingtv',
  'streamingmovies',
] as const;

export const LABEL = 'churn';

/**
 * The tutorial's view: customer_info without its key and event time, joined (point in time) with
 * demography without its key and with subscriptions without their event time; churn the label.
 */
export const CHURN_FEATURE_VIEW: FeatureViewInput = {
  name: 'churn_feature_view',
  description: 'Churn prediction: account, demography and subscriptions of each customer',
  labels: [LABEL],
  query: {
    featureGroup: { name: CUSTOMER_INFO.name },
    exceptFeatures: ['customerid', 'datetime'],
    joins: [
      { featureGroup: { name: CUSTOMER_DEMOGRAPHY.name }, exceptFeatures: ['customerid'] },
      { featureGroup: { name: CUSTOMER_SUBSCRIPTIONS.name }, exceptFeatures: ['datetime'] },
    ],
  },
  transformations: [
    ...SCALED_FEATURES.map((feature) => ({ function: 'min_max_scaler', feature })),
    ...CATEGORICAL_FEATURES.map((feature) => ({ function: 'label_encoder', feature })),
  ],
};

export const MODEL_NAME = 'churnmodel';

/** The deployment serving the model's ONNX export; its prediction log is the group `churn_deployment_predictions`. */
export const DEPLOYMENT_NAME = 'churn_deployment';

/** The metric the inference pipeline picks the best model version by. */
export const BEST_MODEL_METRIC = 'roc_auc';
