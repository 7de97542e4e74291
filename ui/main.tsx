/**
 * The admin console's entry: the header (pages, theme), and the page the URL names. Each route
 * change mounts its page afresh, so a page reads its parameters once.
 *
 * With auth on, the login page stands in for every page until the console has a token.
 *
 * Owns: layout and routing to pages. Never: talks to the API itself.
 */
import { effect, signal } from "@preact/signals";
import { render } from "preact";
import { ClusterPage } from "./cluster.tsx";
import { KeyPage, NewKeyPage } from "./key_detail.tsx";
import { KeysPage } from "./keys.tsx";
import { LeasesPage } from "./leases.tsx";
import { MaintenancePage } from "./maintenance.tsx";
import { href, route } from "./router.ts";
import { SearchPage } from "./search.tsx";
import { STYLES } from "./styles.ts";
import { WatchPage } from "./watch_panel.tsx";
import { LoginPage } from "./login.tsx";
import { loginNeeded, logOut, token, user } from "./session.ts";
import { loadAccess } from "./access.ts";

const PAGES: Record<string, { title: string; view: () => preact.JSX.Element; nav?: boolean }> = {
  cluster: { title: "Cluster", view: ClusterPage, nav: true },
  keys: { title: "Keys", view: KeysPage, nav: true },
  key: { title: "Key", view: KeyPage },
  new: { title: "New key", view: NewKeyPage },
  search: { title: "Search", view: SearchPage },
  watch: { title: "Watch", view: WatchPage, nav: true },
  leases: { title: "Leases", view: LeasesPage, nav: true },
  maintenance: { title: "Maintenance", view: MaintenancePage, nav: true },
};

const theme = signal<string>(localStorage.getItem("concord-theme") ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));

// What the user may do, asked again at each login and each page shown (roles may change meanwhile).
effect(() => {
  void token.value;
  void route.value;
  void loadAccess();
});

function App() {
  document.documentElement.dataset.theme = theme.value;
  const { page } = route.value;
  const current = PAGES[page] ?? PAGES.cluster;
  const View = current.view;
  return (
    <div>
      <header>
        <b>Concord</b>
        <nav>
          {Object.entries(PAGES).filter(([, p]) => p.nav).map(([name, p]) => (
            <a key={name} href={href(name)} class={name === page ? "on" : ""}>{p.title}</a>
          ))}
        </nav>
        <button type="button" onClick={() => {
          theme.value = theme.value === "dark" ? "light" : "dark";
          localStorage.setItem("concord-theme", theme.value);
        }}>{theme.value === "dark" ? "light" : "dark"}</button>
        {user.value && <span data-testid="user">{user.value} <button type="button" onClick={logOut}>log out</button></span>}
      </header>
      <main>{loginNeeded.value ? <LoginPage /> : <View key={`${location.hash}|${token.value ?? ""}`} />}</main>
    </div>
  );
}

// A constructed sheet rather than a <style> element: the page's Content-Security-Policy admits no inline styles.
const sheet = new CSSStyleSheet();
sheet.replaceSync(STYLES);
document.adoptedStyleSheets = [sheet];
render(<App />, document.getElementById("app")!);
