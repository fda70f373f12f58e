export async function main(argv: string[]): Promise<number> {
  console.log('voltledger', argv.join(' '));
  return 0;
}
