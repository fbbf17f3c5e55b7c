/** The user's own privacy settings, as the server reports them. */
export interface PrivacySettings {
  /** When false the user neither sends nor sees read receipts (delivery ticks stop at delivered). */
  readonly readReceipts: boolean;
  /** When false the user neither shows nor sees last-seen times. */
  readonly showLastSeen: boolean;
}

/** A change to privacy settings; omitted fields stay as they are. */
export type PrivacySettingsPatch = Partial<PrivacySettings>;
