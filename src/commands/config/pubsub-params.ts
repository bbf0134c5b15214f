/**
 * The CONFIG parameter of the pub/sub room: notify-keyspace-events (config file key
 * notify_keyspace_events), spread into the one registry (registry.ts).
 */

import { parseFlags } from "../../pubsub/notify.ts";
import { type ConfigParam, ConfigReject } from "./param.ts";

/** CONFIG GET/SET notify-keyspace-events (config file: notify_keyspace_events). */
export const pubsubConfigParams: ConfigParam[] = [
  {
    name: "notify-keyspace-events",
    tomlKey: "notify_keyspace_events",
    tomlType: "string",
    get: (s) => s.pubsub?.notifier.text ?? "",
    prepare: (s, value) => {
      if (parseFlags(value) === null)
        throw new ConfigReject("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
      return () => s.pubsub?.setNotifyFlags(value);
    },
  },
];
