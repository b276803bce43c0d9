// Who called the back end, as the application sees it.

/** The request header in which the inbound proxy hands the application the caller it verified. */
export const CLIENT_ID_HEADER = 'strait-client-id';

/**
 * An identity the front end claims in that header on `/call`: the back end's proxy replaces it with
 * the verified one, so the answer shows that a caller cannot speak for someone else.
 */
export const FORGED_CALLER = 'admin.kube-system.serviceaccount.identity.strait.cluster.local';
