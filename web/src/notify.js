// In-app notifications shared by the layout (badge, subscription) and the
// notifications page.
import { createContext, useContext, useEffect } from 'react';

export const NOTIFICATION_FIELDS = 'id kind title body createdAt readAt';

export const NotifyContext = createContext({
  unread: 0,
  live: 'idle',
  refreshUnread: () => {},
  onNew: () => () => {},
});

export const useNotify = () => useContext(NotifyContext);

/** Run reload whenever a new notification arrives (review results, payments, ...). */
export function useReloadOnNotify(reload) {
  const { onNew } = useNotify();
  useEffect(() => onNew(() => reload()), [onNew, reload]);
}
