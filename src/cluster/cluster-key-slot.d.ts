/** Types for the cluster-key-slot package (Redis's CRC16 key slot, with {hash tag} rule). */
declare module "cluster-key-slot" {
  function calculateSlot(key: string | Uint8Array): number;
  namespace calculateSlot {
    function generateMulti(keys: (string | Uint8Array)[]): number;
  }
  export default calculateSlot;
}
