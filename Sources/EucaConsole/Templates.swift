import Mustache

/// The console's pages, as Mustache templates. Every value is written with `{{…}}`, which
/// escapes HTML, and attribute values are always in double quotes: nothing a user typed is ever
/// markup. The pages need no JavaScript; every change is a form with the session's CSRF token.
enum ConsoleTemplates {
    static let all: [String: String] = [
        "header": """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><title>{{title}} · Euca</title><link rel="stylesheet" href="/console.css"></head>
            <body>
            <header><h1><a href="/">Euca</a></h1>
            {{#user}}<nav><span id="whoami">{{userName}} @ {{accountName}}</span>
            <a href="/home">Resources</a> <a href="/password" id="password-link">Password</a>{{#isCloudAdmin}} <a href="/admin" id="admin-link">Administration</a>{{/isCloudAdmin}}
            <form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" id="logout">Sign out</button></form>
            </nav>{{/user}}
            </header>
            <main>
            <h2>{{title}}</h2>
            {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
            {{#notice}}<p class="notice" id="notice">{{notice}}</p>{{/notice}}

            """,
        "footer": """
            </main>
            <footer>Euca {{version}}</footer>
            </body>
            </html>

            """,
        "login": """
            {{> header}}
            <form method="post" action="/login" id="login-form">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>Account <input name="account" id="account" value="{{formAccount}}" required maxlength="63"></label>
            <label>User <input name="user" id="user" value="{{formUser}}" required maxlength="64"></label>
            <label>Password <input type="password" name="password" id="password" required maxlength="128"></label>
            <button type="submit" id="signin">Sign in</button>
            </form>
            <p>No account yet? <a href="/signup" id="signup-link">Ask for one</a>; an administrator approves each request.</p>
            {{> footer}}
            """,
        "signup": """
            {{> header}}
            <form method="post" action="/signup" id="signup-form">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>Account name <input name="account" id="account" value="{{formAccount}}" required maxlength="63"></label>
            <label>User name <input name="user" id="user" value="{{formUser}}" required maxlength="64"></label>
            <label>E-mail <input type="email" name="email" id="email" value="{{formEmail}}" required maxlength="254"></label>
            <label>Password <input type="password" name="password" id="password" required minlength="8" maxlength="128"></label>
            <label>Password again <input type="password" name="password2" id="password2" required minlength="8" maxlength="128"></label>
            <button type="submit" id="request">Ask for an account</button>
            </form>
            <p>Account names are lowercase letters, digits and '-'; user names letters, digits and +=,.@_-. Passwords have 8 characters or more.</p>
            {{> footer}}
            """,
        "signup-done": """
            {{> header}}
            <p id="request-id">Your request {{requestId}} for the account {{accountName}} is waiting for an administrator.
            Once it is approved, sign in as {{userName}} with the password you chose; until then there is nothing to sign in to.</p>
            <p><a href="/login">Sign in</a></p>
            {{> footer}}
            """,
        "home": """
            {{> header}}
            <section id="credentials">
            <h3>Credentials</h3>
            <p>A zip with an eucarc, an aws CLI config and credentials, a certificate and its key, and the cloud's CA.</p>
            <form method="post" action="/credentials"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" id="download">Download credentials</button></form>
            </section>
            <section id="instances">
            <h3>Instances</h3>
            <table><thead><tr><th>Instance</th><th>State</th><th>Type</th><th>Image</th><th>Private address</th><th>Public address</th><th>Key</th><th>Launched</th><th></th></tr></thead>
            <tbody>
            {{#instances}}<tr class="instance" id="{{id}}"><td>{{id}}</td><td class="state">{{state}}</td><td>{{type}}</td><td>{{image}}</td><td>{{privateIp}}</td><td>{{publicIp}}</td><td>{{key}}</td><td>{{launched}}</td>
            <td>{{#canTerminate}}<form method="post" action="/instances/terminate" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="instance" value="{{id}}"><button type="submit" class="terminate" id="terminate-{{id}}">Terminate</button></form>{{/canTerminate}}</td></tr>
            {{/instances}}
            {{^instances}}<tr><td colspan="9">No instances.</td></tr>{{/instances}}
            </tbody></table>
            <h4>Launch an instance</h4>
            <form method="post" action="/instances/run" id="launch-form">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>Image <select name="image" id="image">{{#images}}{{#isMachine}}<option value="{{id}}">{{id}} {{name}}</option>{{/isMachine}}{{/images}}</select></label>
            <label>Type <select name="type" id="type">{{#types}}<option value="{{name}}">{{name}} ({{cores}} cores, {{memory}} MiB)</option>{{/types}}</select></label>
            <label>Key pair <select name="key" id="key"><option value="">none</option>{{#keys}}<option value="{{name}}">{{name}}</option>{{/keys}}</select></label>
            <button type="submit" id="launch">Launch</button>
            </form>
            </section>
            <section id="key-pairs"><h3>Key pairs</h3>
            <table><thead><tr><th>Name</th><th>Id</th><th>Fingerprint</th></tr></thead><tbody>
            {{#keys}}<tr><td>{{name}}</td><td>{{id}}</td><td>{{fingerprint}}</td></tr>{{/keys}}
            {{^keys}}<tr><td colspan="3">No key pairs.</td></tr>{{/keys}}
            </tbody></table></section>
            <section id="security-groups"><h3>Security groups</h3>
            <table><thead><tr><th>Name</th><th>Id</th><th>Description</th><th>Inbound rules</th></tr></thead><tbody>
            {{#groups}}<tr><td>{{name}}</td><td>{{id}}</td><td>{{description}}</td><td>{{rules}}</td></tr>{{/groups}}
            </tbody></table></section>
            <section id="addresses"><h3>Elastic IP addresses</h3>
            <table><thead><tr><th>Address</th><th>Allocation</th><th>Instance</th></tr></thead><tbody>
            {{#addresses}}<tr><td>{{ip}}</td><td>{{allocation}}</td><td>{{instance}}</td></tr>{{/addresses}}
            {{^addresses}}<tr><td colspan="3">No addresses.</td></tr>{{/addresses}}
            </tbody></table></section>
            <section id="images-list"><h3>Images</h3>
            <table><thead><tr><th>Image</th><th>Name</th><th>Type</th><th>Owner</th><th>Public</th></tr></thead><tbody>
            {{#images}}<tr><td>{{id}}</td><td>{{name}}</td><td>{{kind}}</td><td>{{owner}}</td><td>{{public}}</td></tr>{{/images}}
            </tbody></table></section>
            {{> footer}}
            """,
        "admin": """
            {{> header}}
            <section id="requests"><h3>Sign-up requests waiting</h3>
            <table><thead><tr><th>Request</th><th>Account</th><th>User</th><th>E-mail</th><th>Asked</th><th></th></tr></thead><tbody>
            {{#requests}}<tr class="request" id="{{id}}"><td>{{id}}</td><td>{{accountName}}</td><td>{{userName}}</td><td>{{email}}</td><td>{{asked}}</td>
            <td><form method="post" action="/admin/approve" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="request" value="{{id}}"><button type="submit" id="approve-{{id}}">Approve</button></form>
            <form method="post" action="/admin/reject" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="request" value="{{id}}"><button type="submit" id="reject-{{id}}">Reject</button></form></td></tr>
            {{/requests}}
            {{^requests}}<tr><td colspan="6">No request is waiting.</td></tr>{{/requests}}
            </tbody></table></section>
            <section id="accounts"><h3>Accounts</h3>
            <table><thead><tr><th>Account</th><th>Id</th><th>Instances used/max</th><th>Cores used/max</th><th>Memory MiB used/max</th><th>Users and access keys</th></tr></thead><tbody>
            {{#accounts}}<tr class="account"><td>{{name}}</td><td>{{id}}</td><td>{{instances}}</td><td>{{cores}}</td><td>{{memory}}</td>
            <td><ul>{{#users}}<li>{{name}}{{#hasPassword}} (password){{/hasPassword}}: {{#keys}}{{id}} {{status}}; {{/keys}}{{^keys}}no keys{{/keys}}</li>{{/users}}</ul></td></tr>
            {{/accounts}}
            </tbody></table></section>
            <section id="all-instances"><h3>Instances</h3>
            <table><thead><tr><th>Instance</th><th>Account</th><th>State</th><th>Type</th><th>Zone</th><th>Node</th></tr></thead><tbody>
            {{#instances}}<tr><td>{{id}}</td><td>{{account}}</td><td>{{state}}</td><td>{{type}}</td><td>{{zone}}</td><td>{{node}}</td></tr>{{/instances}}
            {{^instances}}<tr><td colspan="6">No instances.</td></tr>{{/instances}}
            </tbody></table></section>
            <section id="nodes"><h3>Clusters and nodes</h3>
            <table><thead><tr><th>Zone</th><th>Node</th><th>Cores free/total</th><th>Memory MiB free/total</th><th>Disk GiB free/total</th><th>Instances</th></tr></thead><tbody>
            {{#nodes}}<tr><td>{{zone}}</td><td>{{node}}</td><td>{{cores}}</td><td>{{memory}}</td><td>{{disk}}</td><td>{{instances}}</td></tr>{{/nodes}}
            {{^nodes}}<tr><td colspan="6">No cluster answers.</td></tr>{{/nodes}}
            </tbody></table></section>
            {{> footer}}
            """,
        "password": """
            {{> header}}
            <form method="post" action="/password" id="password-form">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>Current password <input type="password" name="current" id="current" required maxlength="128"></label>
            <label>New password <input type="password" name="password" id="password" required minlength="8" maxlength="128"></label>
            <label>New password again <input type="password" name="password2" id="password2" required minlength="8" maxlength="128"></label>
            <button type="submit" id="change">Change password</button>
            </form>
            {{> footer}}
            """,
        "message": """
            {{> header}}
            <p id="message">{{message}}</p>
            <p><a href="/">Back</a></p>
            {{> footer}}
            """,
    ]

    static let stylesheet = """
        body { font-family: sans-serif; margin: 0 2em 2em; color: #222; }
        header { display: flex; justify-content: space-between; align-items: center; border-bottom: 1px solid #ccc; }
        header h1 a { color: #2a6; text-decoration: none; }
        nav > * { margin-left: 1em; }
        label { display: block; margin: 0.5em 0; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
        th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; }
        form.inline { display: inline; }
        .error { color: #a00; font-weight: bold; }
        .notice { color: #060; }
        footer { margin-top: 2em; color: #888; font-size: small; }

        """

    /// The library the console renders with; a template that does not parse fails the start.
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all { try library.register(text, named: name) }
        return library
    }
}
