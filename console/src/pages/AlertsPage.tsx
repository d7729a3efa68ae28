import { useCallback, useState } from 'react';
import { useQuery } from 'urql';
import { errorMessage, graphql } from '../api.ts';
import { DeliveryHistory } from '../components/alerts/Deliveries.tsx';
import { ReceiverForm, ReceiversTable } from '../components/alerts/Receivers.tsx';
import { RouteForm, RoutesTable } from '../components/alerts/Routes.tsx';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import './alerts/alerts.css';

const ALERTS = graphql(`
  query ConsoleAlerts {
    alertReceivers { id name description webhookUrl createdAt routes { id } }
    alertRoutes { id enabled eventTypes createdAt receiver { id name } subject { kind name version } }
  }
`);

/**
 * `/alerts`: the project's receivers (webhooks), the routes that send events to them, and the
 * history of deliveries. Receivers need an ADMIN key to create, test and delete (they hold a secret
 * and make the server call out), routes a WRITE key; other keys see those controls disabled.
 */
export function AlertsPage() {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: ALERTS });
  const [refresh, setRefresh] = useState(0);
  const reload = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  const deliveriesChanged = useCallback(() => setRefresh((n) => n + 1), []);
  const receivers = data?.alertReceivers ?? [];
  const names = receivers.map((r) => r.name);
  return (
    <section className="alerts-page">
      <h1>Alerts</h1>
      <p className="muted">
        Job runs that fail, succeed or run long, failed validations and computed statistics raise events; routes send them to receivers, webhooks that get each
        as a signed POST.
      </p>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && !error && <Loading what="receivers and routes" />}
      {data && (
        <>
          <h2>Receivers</h2>
          <ReceiversTable
            receivers={receivers}
            onChanged={() => {
              reload();
              deliveriesChanged();
            }}
            onTested={deliveriesChanged}
          />
          <ReceiverForm onCreated={reload} />
          <h2>Routes</h2>
          <RoutesTable routes={data.alertRoutes} onChanged={reload} />
          <RouteForm receivers={names} onCreated={reload} />
        </>
      )}
      <h2>Delivery history</h2>
      <DeliveryHistory receivers={names} refresh={refresh} />
    </section>
  );
}
