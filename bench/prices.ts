/**
 * Every public unit price and free-tier figure the cost metrics use, in one place. Prices are
 * USD, pay-per-use, Huawei Cloud international site; each line says where it was read and the
 * date the page carried. They change: check the pages before relying on a cent.
 */
export const PRICES = {
  functionGraph: {
    /**
     * "The first 1,000,000 requests every month are free of charge" and "The first 400,000
     * GB-seconds are free of charge" — FunctionGraph › Billing › Billing Items,
     * https://support.huaweicloud.com/intl/en-us/price-functiongraph/functiongraph_00_0010.html
     * (updated 2024-09-09 / 2024-11-28). The free tier is per account and month, shared with
     * its IAM users (Free Tier page, same section).
     */
    freeRequestsPerMonth: 1_000_000,
    freeGbSecondsPerMonth: 400_000,
    /**
     * "$0.2 USD/1 million requests" and "$0.00001667 USD" per GB-second — FunctionGraph ›
     * Billing › Billing Examples, scenario I,
     * https://support.huaweicloud.com/intl/en-us/price-functiongraph/functiongraph_00_0011.html
     * (updated 2023-11-06 and 2024-09-09).
     */
    usdPerMillionRequests: 0.2,
    usdPerGbSecond: 0.000_016_67,
    /**
     * Execution time "is rounded up to the nearest 1 ms" (Billing Items page above, 2024-09-09;
     * the 2023 version of the page said 1 s). Memory as deployed by infra (256 MB).
     */
    billingGranularityMs: 1,
    memoryMb: 256,
  },
  obs: {
    /**
     * "$0.0001 USD per 1,000 requests" (GET/PUT/LIST are priced alike) — OBS › Billing › Storage
     * Space, example 1 (CN-Hong Kong, July 2023, "for reference only"),
     * https://support.huaweicloud.com/intl/en-us/price-obs/obs_42_0003.html.
     */
    usdPerThousandRequests: 0.0001,
    /** "$0.0230 USD per GB-month" Standard, single-AZ — same page and example. */
    usdPerGbMonth: 0.023,
    /** Objects under 64 KB are billed as 64 KB — OBS › Pay-per-Use Billing (obs_42_0009, 2024-03-04). */
    minBillableObjectBytes: 64 * 1024,
  },
  maas: {
    /**
     * DeepSeek-V3.1 built-in service, CN-Hong Kong: input 0.000539, output 0.001617 USD per
     * 1,000 tokens — ModelArts › Billing › MaaS Text Generation Model,
     * https://support.huaweicloud.com/intl/en-us/price-modelarts/price-modelarts-0047.html
     * (updated 2025-10-14).
     */
    usdPerThousandInputTokens: 0.000_539,
    usdPerThousandOutputTokens: 0.001_617,
  },
  /**
   * The networking a VPC-attached watchdog needed (issue 11): a public NAT gateway with an SNAT
   * rule and its EIP. Huawei bills a public NAT gateway "by day", by size (small, medium, large,
   * extra-large), price in the NAT Gateway Price Calculator — Billing (Public NAT Gateway),
   * https://support.huaweicloud.com/intl/en-us/productdesc-natgateway/nat_price_0001.html
   * (updated 2023-05-08). NOT VERIFIED: this audit could not read the calculator, so the figures
   * below are conservative placeholders of the order other clouds publish for their smallest NAT
   * gateway (Alibaba Cloud small, CN regions: 1.829 USD/day,
   * https://www.alibabacloud.com/help/doc-detail/88658.htm) and a 1 Mbit/s pay-per-use EIP.
   * Only the "before" comparison uses them: the three-function topology needs neither.
   */
  network: {
    natGatewaySmallUsdPerDay: 1.5,
    eipUsdPerMonth: 5,
  },
  telegram: {
    /**
     * Bot API calls carry no charge; Telegram's Introduction to Bots describes the bot platform
     * as free for developers — https://core.telegram.org/bots (paraphrased, not quoted).
     */
    usdPerMessage: 0,
  },
} as const;
