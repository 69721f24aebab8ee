/** `secrets`: read access to the credentials the application granted to this call. */
import { host } from './call-state.ts';
import { freeze, StringCtor } from './intrinsics.ts';

/** `secrets.get(name)`: the app-granted credential `name` of this call (values live on the host). */
export const secretsObject = freeze({
  get: function get(name: unknown): string {
    return host().secret(StringCtor(name));
  },
});
