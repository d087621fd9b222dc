import { Observable } from "rxjs";
import type { ObservableKeyValueStore, StoreChange } from "@tributary/state";

/**
 * A store's changes as an Observable: every put and delete, with old and new value, as it
 * happens inside the task. For application code that taps state (live views, tests); the
 * subscriber runs synchronously inside processing, so it must be quick and must not
 * throw — hand work off (observeOn an async scheduler) if it is heavy.
 */
export function storeChanges$<K, V>(
  store: ObservableKeyValueStore<K, V>,
): Observable<StoreChange<K, V>> {
  return new Observable<StoreChange<K, V>>((subscriber) => {
    const remove = store.addChangeListener((change) => subscriber.next(change));
    return remove;
  });
}
