/**
 * A synthetic telecom churn data set with the columns of the Telco Customer Churn data (IBM's
 * sample, 7 043 customers), split into the three tables of the Hopsworks churn tutorial. It is
 * generated, not real: a seeded generator draws each customer's contract, services and
 * demography with roughly the original shares, and churn from a logistic model in which
 * month-to-month contracts, short tenure, fiber optic internet, electronic checks, paperless
 * billing and no security or support services raise the odds, as in the original data, so a
 * model has something to learn. The same seed always gives the same rows.
 */

/** One row of `customer_info`: the account and the label. */
export type CustomerInfoRow = {
  customerid: string;
  contract: string;
  tenure: number;
  paymentmethod: string;
  paperlessbilling: string;
  monthlycharges: number;
  totalcharges: number;
  /** 1: the customer left within the last month. */
  churn: number;
  datetime: string;
};

/** One row of `customer_demography_info` (no event time: demography is taken as static). */
export type DemographyRow = {
  customerid: string;
  gender: string;
  seniorcitizen: number;
  dependents: string;
  partner: string;
};

/** One row of `customer_subscription_info`: the services the customer has. */
export type SubscriptionRow = {
  customerid: string;
  datetime: string;
  phoneservice: string;
  multiplelines: string;
  internetservice: string;
  onlinesecurity: string;
  onlinebackup: string;
  deviceprotection: string;
  techsupport: string;
  streamingtv: string;
  streamingmovies: string;
};

export interface ChurnData {
  readonly customerInfo: CustomerInfoRow[];
  readonly demography: DemographyRow[];
  readonly subscriptions: SubscriptionRow[];
}

export interface ChurnDataOptions {
  /** Number of customers (default 7 043, as the original). */
  readonly customers?: number;
  /** Seed of the generator (default 42). */
  readonly seed?: number;
}

/** As many customers as the Telco Customer Churn data has. */
export const TELCO_CUSTOMERS = 7043;

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const yesNo = (b: boolean) => (b ? 'Yes' : 'No');

/** Generates the three tables for `customers` customers, deterministically from `seed`. */
export function generateChurnData(options: ChurnDataOptions = {}): ChurnData {
  const customers = options.customers ?? TELCO_CUSTOMERS;
  const random = prng(options.seed ?? 42);
  const chance = (p: number) => random() < p;
  const pick = <T>(choices: readonly (readonly [T, number])[]): T => {
    let r = random() * choices.reduce((s, [, w]) => s + w, 0);
    for (const [value, weight] of choices) {
      r -= weight;
      if (r < 0) return value;
    }
    return choices[choices.length - 1]![0];
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

  const ids = new Set<string>();
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const newId = () => {
    for (;;) {
      const digits = String(Math.floor(random() * 10000)).padStart(4, '0');
      const suffix = Array.from({ length: 5 }, () => letters[Math.floor(random() * 26)]).join('');
      const id = `${digits}-${suffix}`;
      if (!ids.has(id)) {
        ids.add(id);
        return id;
      }
    }
  };

  const customerInfo: CustomerInfoRow[] = [];
  const demography: DemographyRow[] = [];
  const subscriptions: SubscriptionRow[] = [];
  // Observations are made through January 2026; subscriptions were last changed before that.
  const observedFrom = Date.UTC(2026, 0, 1);
  const day = 86_400_000;

  for (let i = 0; i < customers; i++) {
    const customerid = newId();

    const gender = chance(0.5) ? 'Male' : 'Female';
    const senior = chance(0.162);
    const partner = chance(senior ? 0.45 : 0.48);
    const dependents = chance(partner ? 0.52 : 0.1);

    const contract = pick([
      ['Month-to-month', 55],
      ['One year', 21],
      ['Two year', 24],
    ] as const);
    // Tenure in months (0–72), longer under longer contracts: most month-to-month customers are new.
    const tenureMean = contract === 'Month-to-month' ? 16 : contract === 'One year' ? 40 : 56;
    const tenure = Math.max(0, Math.min(72, Math.round(tenureMean + normal() * (contract === 'Month-to-month' ? 15 : 17))));

    const phone = chance(0.903);
    const multiple = phone && chance(tenure > 24 ? 0.55 : 0.35);
    const internet = pick([
      ['Fiber optic', senior ? 60 : 42],
      ['DSL', 34],
      ['No', senior ? 6 : 24],
    ] as const);
    const hasInternet = internet !== 'No';
    const loyal = Math.min(1, tenure / 72);
    const service = (p: number) => (hasInternet ? yesNo(chance(p)) : 'No internet service');
    const onlinesecurity = service(0.2 + 0.35 * loyal + (internet === 'DSL' ? 0.1 : 0));
    const onlinebackup = service(0.3 + 0.3 * loyal);
    const deviceprotection = service(0.3 + 0.3 * loyal);
    const techsupport = service(0.2 + 0.35 * loyal + (internet === 'DSL' ? 0.1 : 0));
    const streamingtv = service(internet === 'Fiber optic' ? 0.55 : 0.35);
    const streamingmovies = service(internet === 'Fiber optic' ? 0.55 : 0.35);

    const paperless = chance(hasInternet ? 0.67 : 0.3);
    const paymentmethod = pick([
      ['Electronic check', contract === 'Month-to-month' ? 48 : 18],
      ['Mailed check', hasInternet ? 18 : 45],
      ['Bank transfer (automatic)', 22],
      ['Credit card (automatic)', 22],
    ] as const);

    // Price of the services, as in the original (about 18 to 119 a month).
    let monthly = phone ? 20 : 0;
    if (multiple) monthly += 5;
    if (internet === 'DSL') monthly += phone ? 25 : 30;
    if (internet === 'Fiber optic') monthly += 50;
    for (const s of [onlinesecurity, onlinebackup, deviceprotection, techsupport]) if (s === 'Yes') monthly += 5;
    for (const s of [streamingtv, streamingmovies]) if (s === 'Yes') monthly += 10;
    monthly = round2(Math.max(18.25, monthly + normal() * 1.5));
    const totalcharges = tenure === 0 ? 0 : round2(Math.max(monthly, monthly * tenure * (1 + normal() * 0.04)));

    // Churn within the month: the drivers of the original data, on the log-odds scale.
    let logit = -1.35;
    logit += contract === 'Month-to-month' ? 1.1 : contract === 'One year' ? -0.6 : -1.7;
    logit += -0.04 * tenure + (tenure <= 3 ? 0.6 : 0);
    logit += internet === 'Fiber optic' ? 0.95 : internet === 'DSL' ? 0 : -0.9;
    logit += paymentmethod === 'Electronic check' ? 0.55 : paymentmethod === 'Mailed check' ? 0.05 : -0.2;
    if (paperless) logit += 0.3;
    if (senior) logit += 0.25;
    if (partner) logit -= 0.05;
    if (dependents) logit -= 0.2;
    if (onlinesecurity === 'Yes') logit -= 0.45;
    if (techsupport === 'Yes') logit -= 0.45;
    if (onlinebackup === 'Yes') logit -= 0.15;
    if (streamingtv === 'Yes' || streamingmovies === 'Yes') logit += 0.15;
    if (multiple) logit += 0.1;
    logit += (monthly - 65) * 0.006;
    const churn = chance(sigmoid(logit)) ? 1 : 0;

    const observed = new Date(observedFrom + Math.floor(random() * 31 * day)).toISOString();
    const changed = new Date(observedFrom - Math.floor((1 + random() * 60) * day)).toISOString();

    customerInfo.push({
      customerid,
      contract,
      tenure,
      paymentmethod,
      paperlessbilling: yesNo(paperless),
      monthlycharges: monthly,
      totalcharges,
      churn,
      datetime: observed,
    });
    demography.push({ customerid, gender, seniorcitizen: senior ? 1 : 0, dependents: yesNo(dependents), partner: yesNo(partner) });
    subscriptions.push({
      customerid,
      datetime: changed,
      phoneservice: yesNo(phone),
      multiplelines: phone ? yesNo(multiple) : 'No phone service',
      internetservice: internet,
      onlinesecurity,
      onlinebackup,
      deviceprotection,
      techsupport,
      streamingtv,
      streamingmovies,
    });
  }
  return { customerInfo, demography, subscriptions };
}
